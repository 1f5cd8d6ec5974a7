-- Each deemed-delivery rule names its legal source (issue 15, docs/law/issue-15-sources.md).
-- The rules themselves are written at start-up through the audited write path from
-- domain::calendar::SHIPPED_DELIVERY_RULES (persistence::notices::ensure_shipped_delivery_rules).
ALTER TABLE delivery_rules ADD COLUMN source TEXT;
