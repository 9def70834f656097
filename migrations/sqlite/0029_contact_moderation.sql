-- Rocket.Chat's contact moderation (omnichannel/contacts.block, .unblock, .conflicts).
--
-- A contact's channel is its rooms of one source type (see 0027); a blocked channel
-- opens no room until it is unblocked. It goes with its visitor.
CREATE TABLE contact_channel_blocks (
    visitor_id TEXT NOT NULL REFERENCES visitors (id) ON DELETE CASCADE,
    source_type TEXT NOT NULL,
    blocked_by TEXT NOT NULL,
    blocked_at BIGINT NOT NULL,
    PRIMARY KEY (visitor_id, source_type)
);

-- The values a registration brought that differ from what a known contact holds,
-- kept there instead (Rocket.Chat's conflictingFields): a JSON array of
-- {"field", "value"} objects, NULL when there is none.
ALTER TABLE visitors ADD COLUMN conflicting_fields TEXT;
