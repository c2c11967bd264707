"""Demo ERP data values: the statuses, word lists, weights and "hard but legal" ``TRICKY``
texts that ``exporter.demo`` turns into SQL array literals for ``demo_fill.sql``."""

from __future__ import annotations

# Every status of each table, as the CHECK constraints in demo_schema.sql allow them.
STATUSES: dict[str, tuple[str, ...]] = {
    "customers": ("active", "on_hold", "blocked"),
    "suppliers": ("approved", "pending", "suspended"),
    "products": ("active", "discontinued", "draft"),
    "orders": ("draft", "confirmed", "in_production", "shipped", "delivered", "cancelled"),
    "work_orders": ("planned", "released", "in_progress", "completed", "closed"),
    "inventory": ("ok", "low", "out"),
    "inventory_transactions": ("posted", "pending", "reversed"),
    "shipments": ("pending", "in_transit", "delivered", "returned"),
    "quality_tests": ("pass", "fail", "pending"),
}

# Hard but legal text. Order matters a little: with 1 000 orders every value occurs in
# orders.special_instructions, and the first ones occur first.
TRICKY: tuple[str, ...] = (
    "Line one\nLine two",
    '=HYPERLINK("http://x","y")',
    "📦 Express delivery 🚚",
    'Müller & Söhne, "Große" Lieferung; Tor 3',
    "Line one\r\nLine two (CRLF)",
    "+1 555 0100",
    "-5% off",
    "@SUM(A1)",
    '<b>Fragile</b> & "handle" with care',
    "Contains ]]> CDATA terminator",
    "Bell\x07character",
    "Start\x01of heading",
    "  padded with spaces  ",
    "",
    "Tab\tseparated\tvalue",
    "Łódź, ul. Piotrkowska 104",
    "東京都千代田区丸の内1-1",
    "Ελληνικά: Αθήνα",
    "Semi;colon;separated",
    "Comma, separated, value",
    "O'Brien's \"quoted\" value",
    "\\N",
    "NULL",
    "C:\\path\\to\\file",
    "=1+2",
    "\ufeffByte order mark first",
    "Trailing newline\n",
    "مرحبا بالعالم",
    'Mixed: "a",b;c\td\ne\r\nf <g> & ]]> 📦 =',
    " ",
    "Lorem ipsum dolor sit amet, " * 24,
    "Zero\u200bwidth, ZWJ 👩‍🔧 and flag 🇵🇱",
)
TRICKY_PERIOD = 29  # 1 value in 29 (~3.4%) of each free-text column is taken from TRICKY

COUNTRIES: dict[str, list[str]] = {  # parallel lists, indexed by a customer's country
    "country": ["Germany", "Poland", "Japan", "Greece", "United States", "France",
                "United Kingdom", "Netherlands", "Sweden", "Spain"],
    "city": ["Berlin", "Łódź", "東京", "Αθήνα", "New York", "Paris", "London", "Amsterdam",
             "Malmö", "Sevilla"],
    "street": ["Hauptstraße", "ul. Piotrkowska", "Marunouchi", "Odos Ermou", "Main Street",
               "Rue de Rivoli", "Baker Street", "Keizersgracht", "Södra Förstadsgatan",
               "Calle Sierpes"],
    "dial": ["+49", "+48", "+81", "+30", "+1", "+33", "+44", "+31", "+46", "+34"],
    "currency": ["EUR", "PLN", "JPY", "EUR", "USD", "EUR", "GBP", "EUR", "SEK", "EUR"],
}

WORDS: dict[str, list[str]] = {
    "first": ["Nordwind", "Acme", "Globex", "Initech", "Umbrella", "Stark", "Hooli", "Vandelay",
              "Cyberdyne", "Tyrell", "Wonka", "Aperture", "Monarch", "Dunder", "Bluth", "Zenith",
              "Polaris", "Kraków", "Malmö", "São Paulo"],
    "second": ["Metall", "Logistics", "Industries", "Trading", "Components", "Engineering",
               "Foods", "Textiles", "Plastics", "Electronics", "Supply", "Systems"],
    "suffix": ["GmbH", "Ltd", "Inc.", "S.A.", "Sp. z o.o.", "AB", "B.V.", "K.K.", "LLC",
               "S.r.l.", "AG", "Co., Ltd."],
    "domain": ["example.com", "example.org", "example.net", "mail.example.de"],
    "terms": ["NET30", "NET30", "NET60", "NET15", "COD", "PREPAID", "2/10 NET30", "EOM"],
    "material": ["Steel", "Aluminium", "Brass", "Plastic", "Rubber", "Titanium", "Copper",
                 "Carbon"],
    "part": ["Bolt", "Bracket", "Gear", "Valve", "Bearing", "Hinge", "Pump", "Sensor", "Cable",
             "Panel", "Spring", "Gasket"],
    "size": ["M4", "M6", "M8", "10 mm", '1/2"', '3/4"', "XL", "Mk II"],
    "category": ["Fasteners", "Hydraulics", "Electrical", "Packaging", "Raw Materials", "Tools",
                 "Spare Parts", "Safety"],
    "unit": ["pcs", "pcs", "pcs", "kg", "m", "l", "box", "set"],
    "description": ["Standard part for general assembly.", "Corrosion-resistant; for outdoor use.",
                    "Replacement part, compatible with series 200/300.",
                    "Heavy duty. Max load 500 kg.", "Sold per unit, minimum order 10.",
                    "RoHS compliant."],
    "instruction": ["Deliver to loading dock B", "Call before delivery", "Leave at reception",
                    "Fragile, handle with care", "Deliver between 8:00 and 14:00",
                    "Use the side entrance", "Pallets must not exceed 1.2 m",
                    "Invoice by e-mail only", "Partial deliveries accepted", "Keep dry"],
    "work_center": ["WC-ASSEMBLY", "WC-CNC-01", "WC-CNC-02", "WC-PAINT", "WC-PACK", "WC-WELD"],
    "wo_note": ["Rush order", "Check material certificate", "Use fixture F-12", "Second shift",
                "Customer witness inspection", "Rework after failed test",
                "Tooling change required"],
    "location": ["WH-MAIN", "WH-EAST", "WH-WEST"],
    "txn_note": ["Cycle count", "Goods receipt", "Production issue", "Damaged in handling",
                 "Transfer between warehouses", "Customer return"],
    "carrier": ["DHL", "UPS", "FedEx", "DB Schenker", "Kuehne+Nagel", "DSV", "Poczta Polska",
                "ヤマト運輸"],
    "test_type": ["dimensional", "visual", "hardness", "tensile", "pressure", "electrical"],
    "inspector": ["A. Schmidt", "Zoë Łukasiewicz", "José Müller", "田中 太郎", "J. Smith",
                  "Ν. Παπαδόπουλος", "Seán O'Neill"],
    "qt_note": ["Within tolerance", "Re-measured", "Surface scratches noted", "Sample size 5",
                "Gauge R&R pending", "Operator: night shift"],
}

# Weighted picks: a value repeated w times in a 20-slot list occurs ~w * 5% of the time.
WEIGHTS: dict[str, dict[str, int]] = {
    "customers": {"active": 17, "on_hold": 2, "blocked": 1},
    "suppliers": {"approved": 15, "pending": 3, "suspended": 2},
    "products": {"active": 16, "discontinued": 2, "draft": 2},
    # shipped + delivered = 60%: those orders get a shipment each.
    "orders": {"draft": 1, "cancelled": 1, "confirmed": 2, "in_production": 4, "shipped": 3,
               "delivered": 9},
    "work_orders": {"planned": 3, "released": 3, "in_progress": 4, "completed": 6, "closed": 4},
    "inventory_transactions": {"posted": 17, "pending": 2, "reversed": 1},
    "txn_type": {"receipt": 6, "issue": 8, "adjustment": 2, "transfer_in": 2, "transfer_out": 2},
}
