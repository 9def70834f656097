//! Identifier and secret generation in Rocket.Chat's formats.

use base64::Engine;
use rand::Rng;
use rand::distributions::Slice;
use sha2::{Digest, Sha256};

/// Meteor's id alphabet: no look-alike characters.
const METEOR_ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";

/// A 17-character Meteor-style id, as Rocket.Chat gives users, rooms, visitors,
/// departments and messages.
pub fn meteor_id() -> String {
    let alphabet = Slice::new(METEOR_ALPHABET).expect("alphabet is not empty");
    rand::thread_rng().sample_iter(alphabet).take(17).map(|&byte| byte as char).collect()
}

/// A 24-character hex id, as MongoDB ObjectIds look (SLA policies, inquiries).
pub fn object_id() -> String {
    let bytes: [u8; 12] = rand::thread_rng().r#gen();
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A bearer secret with 256 bits of randomness, URL-safe.
pub fn secret_token() -> String {
    let bytes: [u8; 32] = rand::thread_rng().r#gen();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token: base64 SHA-256, the way Meteor stores `hashedToken`.
pub fn token_digest(token: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_rocketchat_shapes() {
        let id = meteor_id();
        assert_eq!(id.len(), 17);
        assert!(id.bytes().all(|b| METEOR_ALPHABET.contains(&b)));
        let oid = object_id();
        assert_eq!(oid.len(), 24);
        assert!(oid.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(secret_token().len(), 43);
    }

    #[test]
    fn digest_is_meteor_hashed_token() {
        assert_eq!(token_digest("abc"), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
    }
}
