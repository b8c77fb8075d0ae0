//! One-line descriptions of SDK errors for people: an HTML error page (a proxy's 502, a login
//! portal) is quoted briefly without its tags, and the HTTP status is named once. (The SDK already
//! writes durations for people: `500 ms`, `8 s`.)

use std::fmt::Write as _;

/// How many characters of a response body a message quotes at most.
pub const QUOTE_CHARS: usize = 200;

/// The error's message. Errors carrying a raw body (no API error envelope) are composed from
/// their parts so that the body is quoted briefly; others use the SDK's own text.
pub fn describe(err: &uploads_ext::Error) -> String {
    let Some(body) = err.body_snippet() else {
        return with_causes(err);
    };
    let mut out = String::new();
    if let Some(op) = err.operation() {
        let _ = write!(out, "{op}: ");
    }
    if let Some(part) = err.part() {
        let _ = write!(
            out,
            "part {} (bytes {}..{}): ",
            part.index, part.range.start, part.range.end
        );
    }
    let mut status_line = String::new();
    match err.status() {
        Some(status) if status.is_success() => {
            let _ = write!(out, "could not decode the HTTP {} answer", status.as_u16());
        }
        Some(status) => {
            let _ = write!(status_line, "{}", status.as_u16());
            if let Some(reason) = status.canonical_reason() {
                let _ = write!(status_line, " {reason}");
            }
            let _ = write!(out, "HTTP {status_line}");
        }
        None => out.push_str("could not decode the answer"),
    }
    if let Some(id) = err.upload_id() {
        let _ = write!(out, " [upload {id}]");
    }
    if err.attempts() > 1 {
        let _ = write!(out, " after {} attempts", err.attempts());
    }
    // An error page's title usually repeats the status ("502 Bad Gateway"): say it once.
    let quoted = quote_body(body, &status_line);
    if quoted.is_empty() && looks_like_html(body) {
        out.push_str(" (an HTML page)");
    } else if quoted.is_empty() {
        out.push_str(", with an empty body");
    } else {
        let what = if looks_like_html(body) {
            "an HTML page"
        } else {
            "a body"
        };
        let _ = write!(out, "; the server sent {what}: \"{quoted}\"");
    }
    out
}

/// The SDK's message with the causes it does not already state appended (e.g. the OS error of
/// an unreadable file).
fn with_causes(err: &uploads_ext::Error) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn looks_like_html(body: &str) -> bool {
    let start = body.trim_start().get(..64).unwrap_or(body.trim_start());
    let lower = start.to_ascii_lowercase();
    lower.starts_with("<!doctype") || lower.starts_with("<html") || lower.starts_with("<?xml")
}

/// The first line of text in `body` with tags removed and whitespace collapsed, at most
/// [`QUOTE_CHARS`] characters (an ellipsis marks a cut). A leading `skip` (the status line an
/// error page repeats) is left out.
pub fn quote_body(body: &str, skip: &str) -> String {
    let text = strip_tags(body);
    let line = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|l| match strip_prefix_ignore_case(&l, skip) {
            Some(rest) if !skip.is_empty() => {
                rest.trim_start_matches([' ', ':', '-', '.']).to_owned()
            }
            _ => l,
        })
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    match line.char_indices().nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{}…", line[..cut].trim_end()),
        None => line,
    }
}

/// Removes `<...>` tags and the content of `<script>`/`<style>` elements; keeps line breaks.
fn strip_tags(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let Some(close) = after.find('>') else {
            // A lone `<` (or a tag cut off by the snippet): drop the remainder.
            rest = "";
            break;
        };
        let tag = after[1..close].trim().to_ascii_lowercase();
        rest = &after[close + 1..];
        for element in ["script", "style"] {
            if tag.starts_with(element) {
                let end = format!("</{element}");
                rest = match rest.to_ascii_lowercase().find(&end) {
                    Some(at) => &rest[at..],
                    None => "",
                };
            }
        }
        // Block-level tags end a line, so `<title>` and `<h1>` text stay apart.
        if [
            "br", "p", "/p", "div", "/div", "title", "/title", "h1", "/h1", "tr", "li",
        ]
        .iter()
        .any(|t| tag == *t || tag.starts_with(&format!("{t} ")))
        {
            out.push('\n');
        }
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_pages_are_quoted_by_their_first_line_of_text() {
        let nginx = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
                     <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n\
                     </body>\r\n</html>\r\n";
        assert_eq!(quote_body(nginx, ""), "502 Bad Gateway");
        assert_eq!(quote_body(nginx, "502 Bad Gateway"), "nginx");
        let styled = "<!DOCTYPE html><html><head><style>body { color: red }</style>\
                      <script>var x = '<b>';</script></head><body><p>Service  Unavailable</p>";
        assert_eq!(quote_body(styled, ""), "Service Unavailable");
        assert!(looks_like_html(styled));
        assert_eq!(
            quote_body("  plain &amp; simple\nsecond", ""),
            "plain & simple"
        );
        assert_eq!(quote_body("", ""), "");
        assert_eq!(quote_body("<html><body>", ""), "");
    }

    #[test]
    fn long_bodies_are_cut() {
        let long = format!("<p>{}</p>", "x".repeat(1000));
        let quoted = quote_body(&long, "");
        assert_eq!(quoted.chars().count(), QUOTE_CHARS + 1);
        assert!(quoted.ends_with('…'));
    }
}
