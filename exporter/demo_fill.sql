-- Demo ERP data: one INSERT ... SELECT per erp table, run by exporter.demo.seed in the
-- order of exporter.demo.TABLES, after the pg_temp helper functions it creates.
--
-- Sections start at lines of the form "-- section: <name>", one per table, named after it.
-- Each section is a Python str.format template: {name} placeholders are filled by
-- exporter.demo._fill_values (row counts, word lists as text[] literals, ...), so a
-- literal brace in the SQL must be written doubled: {{ or }}.

-- section: customers

INSERT INTO erp.customers (id, org_id, code, name, email, phone, country, city, address,
    credit_limit, payment_terms, status, active, archived, created_at)
SELECT c, pg_temp.org(c), pg_temp.code('CU-', c),
    pg_temp.hard(c, 1, pg_temp.pick({w_first}, pg_temp.h(c, 101)) || ' '
        || pg_temp.pick({w_second}, pg_temp.h(c, 102)) || ' '
        || pg_temp.pick({w_suffix}, pg_temp.h(c, 103))),
    CASE WHEN pg_temp.h(c, 104) % 30 = 0 THEN NULL
        ELSE 'orders.' || c || '@' || pg_temp.pick({w_domain}, pg_temp.h(c, 106)) END,
    CASE WHEN pg_temp.h(c, 107) % 25 = 0 THEN NULL
        ELSE ({c_dial})[ci] || ' ' || (1000000 + pg_temp.h(c, 108) % 9000000) END,
    ({c_country})[ci],
    pg_temp.hard(c, 2, ({c_city})[ci]),
    pg_temp.hard(c, 3, (1 + pg_temp.h(c, 109) % 250) || ' ' || ({c_street})[ci] || ', '
        || (10000 + pg_temp.h(c, 110) % 89999) || ' ' || ({c_city})[ci]),
    CASE WHEN c % 97 = 5 THEN 999999999999.99
        WHEN c % 97 = 11 THEN 0
        ELSE (1 + pg_temp.h(c, 111) % 500) * 1000 + pg_temp.h(c, 112) % 100 / 100.0 END,
    pg_temp.pick({w_terms}, pg_temp.h(c, 113)),
    pg_temp.status(c, {s_customers}, {ws_customers}, pg_temp.h(c, 114)),
    pg_temp.is_active(c), pg_temp.is_archived(c),
    pg_temp.ts_back(pg_temp.h(c, 115), 400)
FROM (SELECT c, pg_temp.country(c) AS ci FROM generate_series(1, {customers}) AS c OFFSET 0) s

-- section: suppliers

INSERT INTO erp.suppliers (id, org_id, code, name, email, phone, country, lead_time_days,
    rating, status, active, archived, created_at)
SELECT s, pg_temp.org(s), pg_temp.code('SUP-', s),
    pg_temp.hard(s, 4, pg_temp.pick({w_first}, pg_temp.h(s, 121)) || ' '
        || pg_temp.pick({w_second}, pg_temp.h(s, 122)) || ' Supply '
        || pg_temp.pick({w_suffix}, pg_temp.h(s, 123))),
    CASE WHEN pg_temp.h(s, 124) % 20 = 0 THEN NULL
        ELSE 'sales.' || s || '@' || pg_temp.pick({w_domain}, pg_temp.h(s, 125)) END,
    ({c_dial})[ci] || ' ' || (1000000 + pg_temp.h(s, 126) % 9000000),
    ({c_country})[ci],
    (1 + pg_temp.h(s, 127) % 60)::integer,
    CASE WHEN pg_temp.h(s, 128) % 10 = 0 THEN NULL
        ELSE (100 + pg_temp.h(s, 129) % 400) / 100.0 END,
    pg_temp.status(s, {s_suppliers}, {ws_suppliers}, pg_temp.h(s, 130)),
    pg_temp.is_active(s), pg_temp.is_archived(s),
    pg_temp.ts_back(pg_temp.h(s, 131), 400)
FROM (SELECT s, pg_temp.country(s + 7) AS ci
      FROM generate_series(1, {suppliers}) AS s OFFSET 0) x

-- section: products

INSERT INTO erp.products (id, org_id, sku, name, description, category, unit, unit_price, cost,
    weight_kg, supplier_id, status, active, archived, created_at)
SELECT p, pg_temp.org(p), pg_temp.code('SKU-', p),
    pg_temp.hard(p, 5, pg_temp.pick({w_material}, pg_temp.h(p, 141)) || ' '
        || pg_temp.pick({w_part}, pg_temp.h(p, 142)) || ' '
        || pg_temp.pick({w_size}, pg_temp.h(p, 143))),
    pg_temp.hard(p, 6, CASE WHEN pg_temp.h(p, 144) % 10 = 0 THEN NULL
        ELSE pg_temp.pick({w_description}, pg_temp.h(p, 145)) END),
    pg_temp.pick({w_category}, pg_temp.h(p, 146)),
    pg_temp.pick({w_unit}, pg_temp.h(p, 147)),
    pg_temp.price_cents(p) / 100.0,
    pg_temp.cost(p),
    CASE WHEN pg_temp.h(p, 148) % 25 = 0 THEN NULL ELSE pg_temp.h(p, 149) % 50000 / 1000.0 END,
    pg_temp.member(p, {suppliers}, pg_temp.h(p, 150)),
    pg_temp.status(p, {s_products}, {ws_products}, pg_temp.h(p, 151)),
    pg_temp.is_active(p), pg_temp.is_archived(p),
    pg_temp.ts_back(pg_temp.h(p, 152), 400)
FROM generate_series(1, {products}) AS p

-- section: orders

INSERT INTO erp.orders (id, org_id, order_number, customer_id, order_date, status, total, tax,
    discount, currency, payment_terms, delivery_date, delivery_address, special_instructions,
    active, archived, created_at)
SELECT o.i, pg_temp.org(o.i), pg_temp.code('SO-', o.i), o.cust, o.d, o.status,
    CASE WHEN o.i % 499 = 3 THEN 999999999999.99
        WHEN o.i % 499 = 7 THEN -12345.67
        ELSE (o.sub + coalesce(o.tax, 0) - o.disc) / 100.0 END,
    o.tax / 100.0,
    o.disc / 100.0,
    ({c_currency})[pg_temp.country(o.cust)],
    CASE WHEN pg_temp.h(o.i, 161) % 10 = 0 THEN pg_temp.pick({w_terms}, pg_temp.h(o.i, 162))
        ELSE c.payment_terms END,
    CASE WHEN o.status IN ('draft', 'cancelled') OR pg_temp.h(o.i, 163) % 15 = 0 THEN NULL
        ELSE o.d + (2 + pg_temp.h(o.i, 164) % 20)::integer END,
    pg_temp.hard(o.i, 7, CASE WHEN pg_temp.h(o.i, 165) % 10 = 0
        THEN (1 + pg_temp.h(o.i, 166) % 99) || ' Industrial Park, Gate '
            || (1 + pg_temp.h(o.i, 167) % 9)
        ELSE c.address END),
    pg_temp.hard(o.i, 3, CASE WHEN pg_temp.h(o.i, 168) % 30 < 3 THEN NULL
        WHEN pg_temp.h(o.i, 168) % 30 = 3 THEN ''
        ELSE pg_temp.pick({w_instruction}, pg_temp.h(o.i, 169)) END),
    pg_temp.is_active(o.i), pg_temp.is_archived(o.i),
    pg_temp.at_day(o.d, pg_temp.h(o.i, 170))
FROM (
    SELECT i, cust, d, status, sub,
        CASE WHEN pg_temp.h(i, 171) % 12 = 0 THEN NULL
            ELSE (sub * (ARRAY[0, 7, 19, 20, 23])[1 + pg_temp.h(i, 172) % 5] + 50) / 100 END
            AS tax,
        CASE WHEN pg_temp.h(i, 173) % 6 = 0 THEN (sub * 5 + 50) / 100 ELSE 0 END AS disc
    FROM (
        SELECT i,
            pg_temp.member(i, {customers}, pg_temp.h(i, 174)) AS cust,
            pg_temp.day_back(pg_temp.h(i, 175), 400) AS d,
            pg_temp.status(i, {s_orders}, {ws_orders}, pg_temp.h(i, 176)) AS status,
            pg_temp.order_cents(i) AS sub
        FROM generate_series(1, {orders}) AS i
        OFFSET 0
    ) s1
    OFFSET 0
) o
JOIN erp.customers c ON c.id = o.cust

-- section: order_lines

INSERT INTO erp.order_lines (org_id, order_id, line_no, product_id, quantity, unit_price,
    line_total)
SELECT pg_temp.org(i), i, l, pg_temp.line_product(i, l),
    pg_temp.qty_milli(i, l) / 1000.0,
    pg_temp.price_cents(pg_temp.line_product(i, l)) / 100.0,
    pg_temp.line_cents(i, l) / 100.0
FROM (SELECT i, generate_series(1, pg_temp.nlines(i)) AS l
      FROM generate_series(1, {orders}) AS i) s

-- section: work_orders

INSERT INTO erp.work_orders (id, org_id, wo_number, product_id, order_id, quantity, status,
    priority, start_date, due_date, completed_at, work_center, notes, active, archived,
    created_at)
SELECT w, pg_temp.org(w), pg_temp.code('WO-', w),
    pg_temp.member(w, {products}, pg_temp.h(w, 301)),
    {wo_order},
    CASE WHEN pg_temp.h(w, 304) % 4 = 0 THEN (1 + pg_temp.h(w, 305) % 50000) / 1000.0
        ELSE 1 + pg_temp.h(w, 305) % 500 END,
    status,
    (1 + pg_temp.h(w, 306) % 5)::integer,
    sd,
    sd + (1 + pg_temp.h(w, 307) % 30)::integer,
    CASE WHEN status IN ('completed', 'closed') THEN pg_temp.at_day(
        least(sd + (pg_temp.h(w, 308) % 20)::integer, pg_temp.base()), pg_temp.h(w, 309)) END,
    pg_temp.pick({w_work_center}, pg_temp.h(w, 310)),
    pg_temp.hard(w, 8, CASE WHEN pg_temp.h(w, 311) % 4 = 0 THEN NULL
        ELSE pg_temp.pick({w_wo_note}, pg_temp.h(w, 312)) END),
    pg_temp.is_active(w), pg_temp.is_archived(w),
    pg_temp.at_day(sd - (1 + pg_temp.h(w, 313) % 5)::integer, pg_temp.h(w, 314))
FROM (SELECT w, pg_temp.status(w, {s_work_orders}, {ws_work_orders}, pg_temp.h(w, 315)) AS status,
        pg_temp.day_back(pg_temp.h(w, 316), 400) AS sd
      FROM generate_series(1, {work_orders}) AS w OFFSET 0) s

-- section: inventory

INSERT INTO erp.inventory (id, org_id, product_id, location, quantity_on_hand,
    quantity_reserved, reorder_point, unit_cost, status, last_counted_at, active, archived,
    updated_at)
SELECT id, pg_temp.org(p), p, ({w_location})[loc], qoh / 1000.0,
    least(qoh, pg_temp.h(id, 401) % 400000) / 1000.0,
    rop / 1000.0,
    pg_temp.cost(p),
    CASE WHEN qoh = 0 THEN 'out' WHEN qoh < rop THEN 'low' ELSE 'ok' END,
    CASE WHEN pg_temp.h(id, 402) % 10 = 0 THEN NULL ELSE pg_temp.ts_back(pg_temp.h(id, 403), 400)
        END,
    pg_temp.is_active(id), pg_temp.is_archived(id),
    pg_temp.ts_back(pg_temp.h(id, 404), 400)
FROM (SELECT (p - 1) * 3 + loc AS id, p, loc,
        CASE WHEN pg_temp.h((p - 1) * 3 + loc, 405) % 15 = 0 THEN 0
            ELSE pg_temp.h((p - 1) * 3 + loc, 406) % 5000000 END AS qoh,
        50000 + pg_temp.h((p - 1) * 3 + loc, 407) % 450000 AS rop
      FROM generate_series(1, {products}) AS p, generate_series(1, 3) AS loc
      OFFSET 0) s

-- section: inventory_transactions

INSERT INTO erp.inventory_transactions (id, org_id, product_id, location, txn_type, quantity,
    reference, status, occurred_at, note, active, archived)
SELECT t, pg_temp.org(t), pg_temp.member(t, {products}, pg_temp.h(t, 501)),
    pg_temp.pick({w_location}, pg_temp.h(t, 502)),
    tt,
    CASE WHEN tt IN ('issue', 'transfer_out') OR (tt = 'adjustment' AND pg_temp.h(t, 503) % 2 = 0)
        THEN -q ELSE q END / 1000.0,
    CASE tt WHEN 'receipt' THEN pg_temp.code('PO-', pg_temp.h(t, 504) % 1000000)
        WHEN 'issue' THEN pg_temp.code('PICK-', t)
        WHEN 'adjustment' THEN CASE WHEN pg_temp.h(t, 505) % 3 = 0 THEN NULL
            ELSE pg_temp.code('ADJ-', t) END
        ELSE pg_temp.code('TR-', t) END,
    pg_temp.status(t, {s_inventory_transactions}, {ws_inventory_transactions},
        pg_temp.h(t, 506)),
    pg_temp.ts_back(pg_temp.h(t, 507), 400),
    pg_temp.hard(t, 9, CASE WHEN pg_temp.h(t, 508) % 3 = 0 THEN NULL
        ELSE pg_temp.pick({w_txn_note}, pg_temp.h(t, 509)) END),
    pg_temp.is_active(t), pg_temp.is_archived(t)
FROM (SELECT t, pg_temp.pick({ws_txn_type}, pg_temp.h(t, 510)) AS tt,
        CASE WHEN pg_temp.h(t, 511) % 3 = 0 THEN 1 + pg_temp.h(t, 512) % 500000
            ELSE 1000 * (1 + pg_temp.h(t, 512) % 200) END AS q
      FROM generate_series(1, {inventory_transactions}) AS t OFFSET 0) s

-- section: shipments

-- One shipment per shipped or delivered order (~60% of orders).
INSERT INTO erp.shipments (org_id, shipment_number, order_id, carrier, tracking_number,
    ship_date, delivered_at, status, weight_kg, shipping_cost, destination, active, archived,
    created_at)
SELECT org_id, pg_temp.code('SH-', id), id,
    pg_temp.pick({w_carrier}, pg_temp.h(id, 601)),
    CASE WHEN pg_temp.h(id, 602) % 20 = 0 THEN NULL ELSE upper(to_hex(pg_temp.h(id, 603))) END,
    sd,
    CASE WHEN st IN ('delivered', 'returned') THEN pg_temp.at_day(
        least(sd + (1 + pg_temp.h(id, 604) % 7)::integer, pg_temp.base()), pg_temp.h(id, 605))
        END,
    st,
    CASE WHEN pg_temp.h(id, 606) % 30 = 0 THEN NULL ELSE pg_temp.h(id, 607) % 2000000 / 1000.0
        END,
    CASE WHEN id % 997 = 3 THEN 9999999999.99
        WHEN id % 997 = 5 THEN -0.01
        WHEN pg_temp.h(id, 608) % 10 = 0 THEN 0
        ELSE (500 + pg_temp.h(id, 609) % 50000) / 100.0 END,
    pg_temp.hard(id, 10, delivery_address),
    pg_temp.is_active(id), pg_temp.is_archived(id),
    pg_temp.at_day(sd, pg_temp.h(id, 610))
FROM (SELECT id, org_id, delivery_address,
        least(order_date + (1 + pg_temp.h(id, 611) % 5)::integer, pg_temp.base()) AS sd,
        CASE WHEN status = 'shipped'
            THEN CASE WHEN pg_temp.h(id, 612) % 5 = 0 THEN 'pending' ELSE 'in_transit' END
            ELSE CASE WHEN pg_temp.h(id, 612) % 20 = 0 THEN 'returned' ELSE 'delivered' END
            END AS st
      FROM erp.orders WHERE status IN ('shipped', 'delivered')
      ORDER BY id OFFSET 0) s

-- section: quality_tests

-- Four work orders in five get a test; the test of work order w is number w - w / 5.
INSERT INTO erp.quality_tests (id, org_id, test_number, work_order_id, product_id, test_type,
    status, measured_value, spec_min, spec_max, tested_at, inspector, notes, active, archived)
SELECT q, org_id, pg_temp.code('QT-', q), w, product_id,
    pg_temp.pick({w_test_type}, pg_temp.h(q, 701)),
    CASE WHEN mv IS NULL THEN 'pending' WHEN mv BETWEEN lo AND hi THEN 'pass' ELSE 'fail' END,
    mv / 10000.0, lo / 10000.0, hi / 10000.0,
    CASE WHEN mv IS NULL THEN NULL ELSE pg_temp.at_day(
        least(start_date + (pg_temp.h(q, 702) % 10)::integer, pg_temp.base()),
        pg_temp.h(q, 703)) END,
    pg_temp.pick({w_inspector}, pg_temp.h(q, 704)),
    pg_temp.hard(q, 11, CASE WHEN pg_temp.h(q, 705) % 3 = 0 THEN NULL
        ELSE pg_temp.pick({w_qt_note}, pg_temp.h(q, 706)) END),
    pg_temp.is_active(q), pg_temp.is_archived(q)
FROM (SELECT q, w, org_id, product_id, start_date, lo, hi,
        CASE WHEN pg_temp.h(q, 707) % 10 = 0 THEN NULL
            ELSE lo - (hi - lo) / 10 + pg_temp.h(q, 708) % ((hi - lo) * 6 / 5 + 1) END AS mv
      FROM (SELECT id - id / 5 AS q, id AS w, org_id, product_id, start_date,
              1000 * (1 + pg_temp.h(id, 709) % 100) AS lo,
              1000 * (1 + pg_temp.h(id, 709) % 100) + 500 + pg_temp.h(id, 710) % 5000 AS hi
            FROM erp.work_orders WHERE id % 5 <> 0 OFFSET 0) s1
      OFFSET 0) s
