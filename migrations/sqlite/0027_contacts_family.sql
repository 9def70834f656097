-- Rocket.Chat's newer contacts family (omnichannel/contacts.*) is served over the
-- visitors. A contact created or updated through it is "known"; a visitor only the
-- widget registered is an unknown contact, as Rocket.Chat marks the contacts it makes
-- from visitors (visitors registered before this migration stay unknown).
ALTER TABLE visitors ADD COLUMN contact_known BOOLEAN NOT NULL DEFAULT FALSE;

-- A contact created through omnichannel/contacts has no widget yet: its token is the
-- server's, until the first visitor registering with its email address or phone number
-- takes the contact over with the widget's token (Rocket.Chat's preRegistration).
ALTER TABLE visitors ADD COLUMN contact_pre_registered BOOLEAN NOT NULL DEFAULT FALSE;

-- A contact's channels are its latest room of each source type.
CREATE INDEX rooms_visitor_source_ts ON rooms (visitor_id, source_type, ts, num_id);
