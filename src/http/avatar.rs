//! GET /avatar/{username}: an SVG of the name's initials on a colour derived from the
//! name, as Rocket.Chat draws users without an uploaded picture. Every name gets one,
//! known or not, so the answer says nothing about which users exist.

use crate::http::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::openapi::RcBadRequest;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(avatar))
}

/// Background colours; a name always gets the same one.
const COLOURS: [&str; 16] = [
    "#F44336", "#E91E63", "#9C27B0", "#673AB7", "#3F51B5", "#2196F3", "#03A9F4", "#00BCD4", "#009688", "#4CAF50",
    "#8BC34A", "#CDDC39", "#FFC107", "#FF9800", "#FF5722", "#795548",
];

/// Up to two initials: the first letters of the name's first two words (split on
/// `.`, `-`, `_` and spaces), upper-cased; `?` for a name without letters or digits.
fn initials(name: &str) -> String {
    let words = name.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty());
    let initials: String = words.take(2).filter_map(|word| word.chars().next()).flat_map(char::to_uppercase).collect();
    if initials.is_empty() { "?".to_owned() } else { initials }
}

fn colour(name: &str) -> &'static str {
    let sum = name.chars().map(u32::from).fold(0u32, u32::wrapping_add);
    COLOURS[sum as usize % COLOURS.len()]
}

/// Text escaped for an XML text node.
fn xml_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn svg(name: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" pointer-events=\"none\" width=\"200\" height=\"200\">\
         <rect height=\"200\" width=\"200\" fill=\"{}\"/>\
         <text x=\"50%\" y=\"50%\" dy=\"0.36em\" text-anchor=\"middle\" pointer-events=\"none\" fill=\"#ffffff\" \
         font-family=\"Helvetica, Arial, sans-serif\" font-size=\"100\">{}</text></svg>",
        colour(name),
        xml_escaped(&initials(name))
    )
}

/// The avatar of a username: its initials.
#[utoipa::path(get, path = "/avatar/{username}", tag = "users",
    params(("username" = String, Path, description = "A username, known or not", max_length = 256)),
    responses(
        (status = 200, description = "An SVG of the initials", content_type = "image/svg+xml", body = String),
        (status = 400, response = RcBadRequest),
    ))]
async fn avatar(Path(username): Path<String>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "image/svg+xml"), (CACHE_CONTROL, "public, max-age=3600")], svg(&username))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_the_first_letters_of_two_words() {
        assert_eq!(initials("marcos.defendi"), "MD");
        assert_eq!(initials("ada"), "A");
        assert_eq!(initials("jean-luc_picard"), "JL");
        assert_eq!(initials("élodie"), "É");
        assert_eq!(initials("--"), "?");
    }

    #[test]
    fn the_colour_depends_on_the_name_only() {
        assert_eq!(colour("ada"), colour("ada"));
        assert_eq!(colour("ada"), COLOURS[(97 + 100 + 97) % 16]);
    }

    #[test]
    fn markup_in_a_name_is_escaped() {
        assert_eq!(xml_escaped("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
    }
}
