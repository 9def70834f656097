-- Number of queued inquiries per department ('' for none), kept by triggers in the
-- same transaction as the room change, so list totals are exact without counting
-- the queue on every request.
CREATE TABLE queue_counts (
    department_key TEXT PRIMARY KEY,
    queued BIGINT NOT NULL
);

INSERT INTO queue_counts (department_key, queued)
SELECT COALESCE(department_id, ''), COUNT(*) FROM rooms WHERE inquiry_status = 'queued' GROUP BY 1;

CREATE TRIGGER rooms_count_queued_insert AFTER INSERT ON rooms
    FOR EACH ROW WHEN NEW.inquiry_status = 'queued'
BEGIN
    INSERT INTO queue_counts (department_key, queued) VALUES (COALESCE(NEW.department_id, ''), 1)
    ON CONFLICT (department_key) DO UPDATE SET queued = queued + 1;
END;

CREATE TRIGGER rooms_count_queued_leave AFTER UPDATE OF inquiry_status, department_id ON rooms
    FOR EACH ROW WHEN OLD.inquiry_status = 'queued'
        AND (NEW.inquiry_status IS NOT 'queued' OR OLD.department_id IS NOT NEW.department_id)
BEGIN
    UPDATE queue_counts SET queued = queued - 1 WHERE department_key = COALESCE(OLD.department_id, '');
END;

CREATE TRIGGER rooms_count_queued_enter AFTER UPDATE OF inquiry_status, department_id ON rooms
    FOR EACH ROW WHEN NEW.inquiry_status = 'queued'
        AND (OLD.inquiry_status IS NOT 'queued' OR OLD.department_id IS NOT NEW.department_id)
BEGIN
    INSERT INTO queue_counts (department_key, queued) VALUES (COALESCE(NEW.department_id, ''), 1)
    ON CONFLICT (department_key) DO UPDATE SET queued = queued + 1;
END;

CREATE TRIGGER rooms_count_queued_delete AFTER DELETE ON rooms
    FOR EACH ROW WHEN OLD.inquiry_status = 'queued'
BEGIN
    UPDATE queue_counts SET queued = queued - 1 WHERE department_key = COALESCE(OLD.department_id, '');
END;
