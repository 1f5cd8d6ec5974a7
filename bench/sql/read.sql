-- The point read as the server sends it for GET /api/v1/applications/{id} by a caseworker
-- (PostgreSQL's statement log, 7 December 2026; `persistence::case_load`): one prepared
-- statement, the case row with its cost lines and members as JSON arrays. A random case of
-- the benchmark's; its id is looked up in `bench_case_ids` in the same statement (a
-- primary-key probe the server does not make: the baseline does a little more than the
-- server asks of PostgreSQL). Run by `bench/load.rs` with `pgbench -M prepared -D ncases=N`.
\set n random(1, :ncases)
SELECT a.*, CAST(COALESCE((SELECT json_agg(json_build_array(l.line_no, l.category, l.description, l.amount_cents, CASE WHEN l.eligible THEN 1 ELSE 0 END, l.actual_cents) ORDER BY l.line_no) FROM cost_lines l WHERE l.application_id = a.id), '[]') AS TEXT) AS lines_json, CAST(COALESCE((SELECT json_agg(json_build_array(m.position, m.ags, m.kreis, m.share_bp, CASE WHEN m.is_lead THEN 1 ELSE 0 END) ORDER BY m.position) FROM application_members m WHERE m.application_id = a.id), '[]') AS TEXT) AS members_json FROM applications a WHERE a.id = (SELECT b.id FROM bench_case_ids b WHERE b.n = :n);
