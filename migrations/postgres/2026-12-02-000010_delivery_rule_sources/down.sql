ALTER TABLE delivery_rules DROP COLUMN source;
