-- An inquiry's SLA due time: when it was queued plus its policy's minutes (the room
-- keeps them in estimated_waiting_time_queue while it has a policy). A generated
-- column, so every statement that sets, changes or removes the policy, edits its
-- minutes or queues the room again moves the due time with it, in the same statement.
ALTER TABLE rooms ADD COLUMN sla_due_at BIGINT GENERATED ALWAYS AS (
    CASE WHEN sla_id IS NULL THEN NULL ELSE queued_at + estimated_waiting_time_queue * 60000 END
) VIRTUAL;
-- What the breach sweep reads: queued inquiries by due time.
CREATE INDEX rooms_queue_sla_due ON rooms (sla_due_at) WHERE inquiry_status = 'queued' AND sla_due_at IS NOT NULL;

-- One row per inquiry and due time it was still queued at: the unique key makes the
-- breach exactly once. Policy, room and department are copied rather than referenced,
-- so the record outlives a deleted policy or room.
CREATE TABLE sla_breaches (
    num_id INTEGER PRIMARY KEY AUTOINCREMENT,
    inquiry_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    department_id TEXT,
    due_at BIGINT NOT NULL,
    breached_at BIGINT NOT NULL,
    -- When the inquiry was finally taken; none while it waits.
    taken_at BIGINT,
    CONSTRAINT sla_breaches_inquiry_due_key UNIQUE (inquiry_id, due_at)
);
CREATE INDEX sla_breaches_breached_at ON sla_breaches (breached_at, num_id);

-- Taking an inquiry ends its open breaches, in the take's own statement, whichever
-- route takes it (manual take, routing, transfer to an agent, a HelpCrunch assignment).
CREATE TRIGGER rooms_end_sla_breaches AFTER UPDATE OF inquiry_status ON rooms
    FOR EACH ROW WHEN OLD.inquiry_status = 'queued' AND NEW.inquiry_status = 'taken'
BEGIN
    UPDATE sla_breaches SET taken_at = NEW.taken_at WHERE inquiry_id = NEW.inquiry_id AND taken_at IS NULL;
END;
