"""Saved export templates of the caller's org: list, create, read, replace, delete."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from api.auth import Auth, Service
from api.errors import responses
from api.models import TemplateIn, TemplateList, TemplateOut

router = APIRouter(prefix="/templates", tags=["templates"], responses=responses(401, 422))


@router.get("", summary="List templates")
def list_templates(who: Auth, svc: Service) -> TemplateList:
    return TemplateList(templates=[TemplateOut.of_row(t) for t in svc.templates(who.org)])


@router.post("", status_code=201, summary="Create a template", responses=responses(409))
def create_template(body: TemplateIn, who: Auth, svc: Service) -> TemplateOut:
    return TemplateOut.of_row(svc.create_template(who.org, body.name, body.spec(), who.user))


@router.get("/{template_id}", summary="Read a template", responses=responses(404))
def get_template(template_id: uuid.UUID, who: Auth, svc: Service) -> TemplateOut:
    return TemplateOut.of_row(svc.template(who.org, str(template_id)))


@router.put("/{template_id}", summary="Replace a template's name and spec",
            responses=responses(404, 409))
def replace_template(template_id: uuid.UUID, body: TemplateIn, who: Auth,
                     svc: Service) -> TemplateOut:
    updated = svc.update_template(who.org, str(template_id), body.name, body.spec())
    return TemplateOut.of_row(updated)


@router.delete("/{template_id}", status_code=204, response_class=Response,
               summary="Delete a template (its past jobs stay)", responses=responses(404))
def delete_template(template_id: uuid.UUID, who: Auth, svc: Service) -> Response:
    svc.delete_template(who.org, str(template_id))
    return Response(status_code=204)
