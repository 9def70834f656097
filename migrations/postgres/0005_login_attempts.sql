-- Login attempts, counted in fixed windows per key: kind 'user' keys an account by its
-- id (or, for a name no account has, by a SHA-256 digest of the lower-cased name, so
-- a password typed into the username field never reaches the database); kind
-- 'address' keys the client address. A login reserves its attempt on both keys with
-- one upsert each before its password is checked, so concurrent guesses cannot
-- exceed the limit. The raw typed names of login_failures go with it.
DROP TABLE login_failures;

CREATE TABLE login_attempts (
    kind TEXT NOT NULL CHECK (kind IN ('user', 'address')),
    attempt_key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    PRIMARY KEY (kind, attempt_key)
);
-- Finds expired windows to drop.
CREATE INDEX login_attempts_window_start ON login_attempts (window_start);
