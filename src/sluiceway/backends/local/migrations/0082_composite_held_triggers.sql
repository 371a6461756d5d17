-- The triggering children of the change whose actions a composite alarm holds back (a JSON list,
-- as the notification sent when the suppression ends names them); NULL while none are held. Kept
-- apart from state_reason_data, which SetAlarmState may set to any JSON.
ALTER TABLE cw_composite_alarms ADD COLUMN pending_triggering TEXT;
