"""The API's routers, one module per subject; api.app mounts them under PREFIX."""

PREFIX = "/api/integrations/exports"
