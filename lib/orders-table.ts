import settings from '../resources/orders-table.json' with { type: 'json' };

/** The orders table's definition, shared with serverless.yml (resources/orders-table.json). */
export const ordersTableSettings = settings;

/** How long every record is kept after its last write (the table's TTL on `expires_at`). */
export const ORDER_RETENTION_DAYS = settings.retentionDays;
