-- CloudWatch anomaly detectors (PutAnomalyDetector, and those a band alarm creates): one per metric
-- and statistic. identity is the canonical JSON of the four, so putting the same model again
-- replaces its configuration. A detector's state (PENDING_TRAINING, TRAINED, TRAINED_INSUFFICIENT_DATA)
-- is derived from the metric's data when it is described, never stored.
CREATE TABLE IF NOT EXISTS cw_anomaly_detectors (
    id TEXT PRIMARY KEY,
    identity TEXT NOT NULL UNIQUE,
    namespace TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    dimensions TEXT NOT NULL,
    stat TEXT NOT NULL,
    configuration TEXT NOT NULL,
    characteristics TEXT,
    created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS cw_anomaly_detectors_by_metric ON cw_anomaly_detectors (namespace, metric_name);
