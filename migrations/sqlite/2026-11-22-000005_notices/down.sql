DROP TABLE delivery_rules;
DROP TABLE payment_requests;
DROP TABLE budgets;
DROP TABLE notice_allocations;
DROP TABLE notice_lines;
DROP TABLE notices;
ALTER TABLE cost_lines DROP COLUMN actual_cents;
ALTER TABLE applications DROP COLUMN reclaimed_cents;
