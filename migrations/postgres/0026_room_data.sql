-- The visitor's answers to the satisfaction survey (Rocket.Chat's room `surveyFeedback`,
-- set by livechat/room.survey): a JSON object of strings; NULL until answered.
ALTER TABLE rooms ADD COLUMN survey_feedback TEXT;
-- A transcript an agent asked to be emailed when the room closes (Rocket.Chat's room
-- `transcriptRequest`, set by POST livechat/transcript/{rid}): a JSON object; NULL while
-- none is asked.
ALTER TABLE rooms ADD COLUMN transcript_request TEXT;

-- The SMTP relay transcripts are sent through, as Rocket.Chat names its settings.
INSERT INTO settings
    (id, kind, value, package_value, allowed_values, public, secret, enterprise, invalid_value, modules, group_id, section)
VALUES
    ('SMTP_Host', 'string', '""', '""', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Email', 'SMTP'),
    ('SMTP_Port', 'string', '""', '""', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Email', 'SMTP'),
    ('From_Email', 'string', '""', '""', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Email', 'SMTP'),
    ('Livechat_transcript_email_subject', 'string', '""', '""', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Omnichannel', NULL)
ON CONFLICT (id) DO NOTHING;
