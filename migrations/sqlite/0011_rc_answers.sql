-- A visitor's phone number with spaces, dashes, dots and brackets taken out: at most
-- one visitor per number (Rocket.Chat finds a registering visitor by its phone), so a
-- registration with a known number reaches that visitor even under concurrency. Where
-- visitors already share a number, the first registered keeps it as its key.
ALTER TABLE visitors ADD COLUMN phone_key TEXT;
UPDATE visitors SET phone_key =
    REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(phone, ' ', ''), '-', ''), '.', ''), '(', ''), ')', '')
WHERE phone IS NOT NULL
  AND REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(phone, ' ', ''), '-', ''), '.', ''), '(', ''), ')', '') <> ''
  AND num_id = (SELECT MIN(other.num_id) FROM visitors other
      WHERE REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(other.phone, ' ', ''), '-', ''), '.', ''), '(', ''), ')', '')
          = REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(visitors.phone, ' ', ''), '-', ''), '.', ''), '(', ''), ')', ''));
CREATE UNIQUE INDEX visitors_phone_key ON visitors (phone_key);

-- The HTTP headers of a visitor's registration, kept only while
-- Livechat_Allow_collect_and_store_HTTP_header_informations is on.
ALTER TABLE visitors ADD COLUMN ip TEXT;
ALTER TABLE visitors ADD COLUMN user_agent TEXT;
ALTER TABLE visitors ADD COLUMN host TEXT;

-- Rocket.Chat's closing tags, fallback department and forwarding settings of a
-- department, NULL while never given (Rocket.Chat's document then has no such field).
-- The tags and the departments allowed to forward to are JSON arrays of strings.
ALTER TABLE departments ADD COLUMN request_tag_before_closing_chat BOOLEAN;
ALTER TABLE departments ADD COLUMN chat_closing_tags TEXT;
ALTER TABLE departments ADD COLUMN fallback_forward_department TEXT REFERENCES departments (id) ON DELETE SET NULL;
ALTER TABLE departments ADD COLUMN departments_allowed_to_forward TEXT;
ALTER TABLE departments ADD COLUMN allow_receive_forward_offline BOOLEAN;
