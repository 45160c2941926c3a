DROP TABLE webhook_cursor;
--bun:split
DROP TABLE webhook_deliveries;
--bun:split
DROP TABLE webhooks;
