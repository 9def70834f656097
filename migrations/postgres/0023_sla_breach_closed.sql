-- A breached inquiry that is closed without ever being taken: the breach stays (the
-- visitor did wait past the due time) and records when the room was closed, so that
-- "open" lists only the inquiries still waiting.
ALTER TABLE sla_breaches ADD COLUMN closed_at BIGINT;

-- Closing a room while its inquiry is queued ends its open breaches, in the close's own
-- statement, whichever route closes it.
CREATE FUNCTION close_sla_breaches() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sla_breaches SET closed_at = COALESCE(NEW.closed_at, NEW.updated_at)
        WHERE inquiry_id = OLD.inquiry_id AND taken_at IS NULL AND closed_at IS NULL;
    RETURN NULL;
END;
$$;

CREATE TRIGGER rooms_close_sla_breaches AFTER UPDATE OF inquiry_status ON rooms
    FOR EACH ROW WHEN (OLD.inquiry_status = 'queued' AND NEW.inquiry_status IS NULL)
    EXECUTE FUNCTION close_sla_breaches();
