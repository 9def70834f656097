//! Rules of uploaded files without I/O: which media types the settings allow, the size
//! limit, and how a message shows a file (Rocket.Chat's `file`, `files`, `attachments`).

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::{Map, Value, json};

/// Rocket.Chat's limit when FileUpload_MaxFileSize is 0: 100 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 104_857_600;

/// The largest file FileUpload_MaxFileSize allows: none for a negative value (no limit),
/// Rocket.Chat's default for 0.
pub fn max_file_size(setting: i64) -> Option<u64> {
    match setting {
        setting if setting < 0 => None,
        0 => Some(DEFAULT_MAX_FILE_SIZE),
        setting => Some(setting as u64),
    }
}

/// A size as Rocket.Chat's `filesize` words it: `100 MB`, `1.5 kB`, `20 B`.
pub fn size_words(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let rounded = (value * 100.0).round() / 100.0;
    format!("{rounded} {}", UNITS[unit])
}

/// The entries of a comma-separated media type list, trimmed; none for an empty list
/// (and for the white list's `*`).
fn list(setting: &str, star_means_all: bool) -> Option<Vec<&str>> {
    if setting.is_empty() || (star_means_all && setting == "*") {
        return None;
    }
    Some(setting.split(',').map(str::trim).collect())
}

/// Whether `media_type` is on `list`: by name, or by a `type/*` entry.
fn on_list(media_type: &str, list: &[&str]) -> bool {
    if list.contains(&media_type) {
        return true;
    }
    let (top, _) = media_type.split_once('/').unwrap_or((media_type, ""));
    let wildcard = format!("{top}/*");
    list.iter().any(|entry| entry.find("/*").is_some_and(|at| at > 0) && *entry == wildcard)
}

/// Rocket.Chat's check of FileUpload_MediaTypeWhiteList and FileUpload_MediaTypeBlackList:
/// a black-listed type is refused; with a white list, only listed types pass.
pub fn media_type_allowed(media_type: &str, white_list: &str, black_list: &str) -> bool {
    let black = list(black_list, false);
    let white = list(white_list, true);
    if let Some(black) = &black
        && (media_type.is_empty() || on_list(media_type, black))
    {
        return false;
    }
    match white {
        None => true,
        Some(white) => on_list(media_type, &white),
    }
}

/// What `encodeURI` leaves as it is: letters, digits and `;,/?:@&=+$-_.!~*'()#`.
const URI: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Where a file is served: `/file-upload/<id>/<name as encodeURI writes it>`.
pub fn file_url(id: &str, name: &str) -> String {
    format!("/file-upload/{id}/{}", utf8_percent_encode(name, URI))
}

/// The extension of a file name (`png` of `a.b.png`); empty without one.
pub fn file_extension(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => extension,
        _ => "",
    }
}

/// An image's pixel size, read from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dimensions {
    pub width: i64,
    pub height: i64,
}

/// A stored file, as a message shows it.
#[derive(Clone, Debug)]
pub struct FileFacts<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub description: Option<&'a str>,
    pub dimensions: Option<Dimensions>,
    /// The image format (`png`), for images whose header was read.
    pub format: Option<&'a str>,
}

/// The message fields that show a file, as Rocket.Chat's sendFileMessage writes them:
/// `file`, `files` and one attachment with the image, audio or video fields its media
/// type calls for, and `groupable: false`.
pub fn file_message_fields(file: &FileFacts<'_>) -> Map<String, Value> {
    let url = file_url(file.id, file.name);
    let entry = json!({
        "_id": file.id,
        "name": file.name,
        "type": file.content_type,
        "size": file.size,
        "format": file.format.unwrap_or(""),
    });
    let mut attachment = Map::new();
    attachment.insert("ts".into(), json!("1970-01-01T00:00:00.000Z"));
    attachment.insert("title".into(), json!(file.name));
    attachment.insert("type".into(), json!("file"));
    if let Some(description) = file.description {
        attachment.insert("description".into(), json!(description));
    }
    attachment.insert("title_link".into(), json!(url));
    attachment.insert("title_link_download".into(), json!(true));
    let top = file.content_type.split('/').next().unwrap_or("");
    let has_subtype = file.content_type.split_once('/').is_some_and(|(_, sub)| !sub.is_empty());
    match top {
        "image" if has_subtype => {
            attachment.insert("image_url".into(), json!(url));
            attachment.insert("image_type".into(), json!(file.content_type));
            attachment.insert("image_size".into(), json!(file.size));
            if let Some(dimensions) = file.dimensions {
                attachment
                    .insert("image_dimensions".into(), json!({"width": dimensions.width, "height": dimensions.height}));
            }
        }
        "audio" | "video" if has_subtype => {
            attachment.insert(format!("{top}_url"), json!(url));
            attachment.insert(format!("{top}_type"), json!(file.content_type));
            attachment.insert(format!("{top}_size"), json!(file.size));
        }
        _ => {
            attachment.insert("format".into(), json!(file_extension(file.name)));
            attachment.insert("size".into(), json!(file.size));
        }
    }
    let mut fields = Map::new();
    fields.insert("file".into(), entry.clone());
    fields.insert("files".into(), json!([entry]));
    fields.insert("attachments".into(), json!([attachment]));
    fields.insert("groupable".into(), json!(false));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_follow_the_lists() {
        assert!(media_type_allowed("image/png", "", "image/svg+xml"));
        assert!(!media_type_allowed("image/svg+xml", "", "image/svg+xml"));
        assert!(!media_type_allowed("image/png", "", "image/*"));
        assert!(media_type_allowed("image/png", "image/*", ""));
        assert!(!media_type_allowed("text/plain", "image/*, application/pdf", ""));
        assert!(media_type_allowed("application/pdf", "image/*, application/pdf", ""));
        assert!(media_type_allowed("text/plain", "*", ""));
        assert!(!media_type_allowed("", "", "image/svg+xml"));
    }

    #[test]
    fn sizes_and_limits() {
        assert_eq!(max_file_size(-1), None);
        assert_eq!(max_file_size(0), Some(DEFAULT_MAX_FILE_SIZE));
        assert_eq!(max_file_size(10), Some(10));
        assert_eq!(size_words(104_857_600), "104.86 MB");
        assert_eq!(size_words(20), "20 B");
    }

    #[test]
    fn urls_are_encoded_as_encode_uri_does() {
        assert_eq!(file_url("a1", "my file (1).png"), "/file-upload/a1/my%20file%20(1).png");
        assert_eq!(file_url("a1", "é.txt"), "/file-upload/a1/%C3%A9.txt");
        assert_eq!(file_extension("a.b.png"), "png");
        assert_eq!(file_extension(".env"), "");
    }
}
