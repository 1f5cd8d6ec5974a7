ALTER TABLE budgets DROP COLUMN version;
