-- Contacts are visitors (Rocket.Chat's model before its separate contacts
-- collection): a contact is found by token, phone or email, so the email, trimmed and
-- lowercased, is a unique key as the phone number is (migration 0011). Where visitors
-- already share an address, the first registered keeps it as its key.
ALTER TABLE visitors ADD COLUMN email_key TEXT;
UPDATE visitors SET email_key = LOWER(TRIM(email))
WHERE email IS NOT NULL AND TRIM(email) <> ''
  AND num_id = (SELECT MIN(other.num_id) FROM visitors other WHERE LOWER(TRIM(other.email)) = LOWER(TRIM(visitors.email)));
CREATE UNIQUE INDEX visitors_email_key ON visitors (email_key);

-- The contact's custom fields (a JSON object of visitor-scoped fields, Rocket.Chat's
-- livechatData) and the username of its contact manager, as Rocket.Chat keeps it.
ALTER TABLE visitors ADD COLUMN livechat_data TEXT;
ALTER TABLE visitors ADD COLUMN contact_manager TEXT;
