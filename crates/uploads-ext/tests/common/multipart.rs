//! A strict, minimal RFC 7578 reader for the tests that check the multipart body of a part
//! byte for byte.

/// One field of a multipart body.
#[derive(Debug, Clone, PartialEq)]
pub struct FormPart {
    pub name: Option<String>,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn disposition_param(value: &str, param: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == param).then(|| v.trim_matches('"').to_owned())
    })
}

/// The fields of a `multipart/form-data` body, strictly: every boundary, header and CRLF in
/// place, nothing after the closing boundary.
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Result<Vec<FormPart>, String> {
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .ok_or_else(|| format!("not multipart/form-data: {content_type:?}"))?
        .trim_matches('"');
    let open = format!("--{boundary}\r\n");
    let delim = format!("\r\n--{boundary}");
    if !body.starts_with(open.as_bytes()) {
        return Err("body does not start with the boundary".into());
    }
    let mut pos = open.len();
    let mut parts = Vec::new();
    loop {
        let head_end = find(body, b"\r\n\r\n", pos).ok_or("part without header end")?;
        let head = std::str::from_utf8(&body[pos..head_end]).map_err(|e| e.to_string())?;
        let mut part = FormPart {
            name: None,
            filename: None,
            content_type: None,
            body: Vec::new(),
        };
        for line in head.split("\r\n") {
            let (name, value) = line.split_once(':').ok_or("bad part header")?;
            match name.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    if !value.trim().starts_with("form-data") {
                        return Err(format!("not form-data: {value}"));
                    }
                    part.name = disposition_param(value, "name");
                    part.filename = disposition_param(value, "filename");
                }
                "content-type" => part.content_type = Some(value.trim().to_owned()),
                other => return Err(format!("unexpected part header {other}")),
            }
        }
        let start = head_end + 4;
        let end = find(body, delim.as_bytes(), start).ok_or("part without closing boundary")?;
        part.body = body[start..end].to_vec();
        parts.push(part);
        let after = end + delim.len();
        match body.get(after..after + 2) {
            Some(b"--") => {
                let rest = &body[after + 2..];
                if rest.is_empty() || rest == b"\r\n" {
                    return Ok(parts);
                }
                return Err("trailing bytes after the closing boundary".into());
            }
            Some(b"\r\n") => pos = after + 2,
            _ => return Err("malformed boundary line".into()),
        }
    }
}
