-- Number of queued inquiries per department ('' for none), kept by triggers in the
-- same transaction as the room change, so list totals are exact without counting
-- the queue on every request.
CREATE TABLE queue_counts (
    department_key TEXT PRIMARY KEY,
    queued BIGINT NOT NULL
);

INSERT INTO queue_counts (department_key, queued)
SELECT COALESCE(department_id, ''), COUNT(*) FROM rooms WHERE inquiry_status = 'queued' GROUP BY 1;

CREATE FUNCTION count_queued_rooms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.inquiry_status = 'queued' THEN
        UPDATE queue_counts SET queued = queued - 1 WHERE department_key = COALESCE(OLD.department_id, '');
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.inquiry_status = 'queued' THEN
        INSERT INTO queue_counts (department_key, queued) VALUES (COALESCE(NEW.department_id, ''), 1)
        ON CONFLICT (department_key) DO UPDATE SET queued = queue_counts.queued + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER rooms_count_queued_insert AFTER INSERT ON rooms
    FOR EACH ROW WHEN (NEW.inquiry_status = 'queued') EXECUTE FUNCTION count_queued_rooms();
CREATE TRIGGER rooms_count_queued_update AFTER UPDATE OF inquiry_status, department_id ON rooms
    FOR EACH ROW WHEN (
        (OLD.inquiry_status = 'queued' OR NEW.inquiry_status = 'queued')
        AND (OLD.inquiry_status IS DISTINCT FROM NEW.inquiry_status OR OLD.department_id IS DISTINCT FROM NEW.department_id)
    ) EXECUTE FUNCTION count_queued_rooms();
CREATE TRIGGER rooms_count_queued_delete AFTER DELETE ON rooms
    FOR EACH ROW WHEN (OLD.inquiry_status = 'queued') EXECUTE FUNCTION count_queued_rooms();
