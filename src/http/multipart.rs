//! One field of a `multipart/form-data` body (OpenAI's audio uploads carry `model` so),
//! found where it lies so the gateway can rewrite it in place, as it does in JSON.

use std::ops::Range;

/// Why a multipart body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    /// The `Content-Type` has no usable `boundary` parameter.
    #[error("multipart content-type has no boundary")]
    NoBoundary,
    /// The body does not follow RFC 7578's framing.
    #[error("malformed multipart body: {0}")]
    Malformed(&'static str),
}

/// The `boundary` parameter of a `multipart/form-data` content type; `None` when the
/// type is another one.
pub fn form_data_boundary(content_type: &[u8]) -> Option<Result<&[u8], MultipartError>> {
    let text = content_type.trim_ascii();
    let (kind, params) = match text.iter().position(|&b| b == b';') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, &b""[..]),
    };
    if !kind
        .trim_ascii()
        .eq_ignore_ascii_case(b"multipart/form-data")
    {
        return None;
    }
    let boundary = params.split(|&b| b == b';').find_map(|param| {
        let param = param.trim_ascii();
        let at = param.iter().position(|&b| b == b'=')?;
        let (name, value) = (&param[..at], &param[at + 1..]);
        name.trim_ascii()
            .eq_ignore_ascii_case(b"boundary")
            .then(|| unquote(value.trim_ascii()))
    });
    // RFC 2046: 1 to 70 characters.
    Some(
        boundary
            .filter(|b| !b.is_empty() && b.len() <= 70)
            .ok_or(MultipartError::NoBoundary),
    )
}

/// The value bytes of the first part named `name` (its content, without the part's
/// headers or the CRLF before the next delimiter); `None` when no part has that name.
pub fn find_field(
    body: &[u8],
    boundary: &[u8],
    name: &str,
) -> Result<Option<Range<usize>>, MultipartError> {
    let mut delimiter = Vec::with_capacity(boundary.len() + 4);
    delimiter.extend_from_slice(b"\r\n--");
    delimiter.extend_from_slice(boundary);
    let finder = memchr::memmem::Finder::new(&delimiter);
    // The first delimiter may open the body without the CRLF before it.
    let mut at = if body.starts_with(&delimiter[2..]) {
        delimiter.len() - 2
    } else {
        finder
            .find(body)
            .ok_or(MultipartError::Malformed("no boundary delimiter"))?
            + delimiter.len()
    };
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Ok(None);
        }
        // Transport padding (spaces, tabs) may follow a delimiter before its CRLF.
        let padding = rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        if !rest[padding..].starts_with(b"\r\n") {
            return Err(MultipartError::Malformed(
                "a delimiter is not followed by CRLF",
            ));
        }
        let headers_at = at + padding + 2;
        let headers_len = memchr::memmem::find(&body[headers_at..], b"\r\n\r\n")
            .ok_or(MultipartError::Malformed("a part's headers do not end"))?;
        let headers = &body[headers_at..headers_at + headers_len];
        let content_at = headers_at + headers_len + 4;
        let content_len = finder
            .find(&body[content_at..])
            .ok_or(MultipartError::Malformed("the last part is not closed"))?;
        if part_name(headers) == Some(name.as_bytes()) {
            return Ok(Some(content_at..content_at + content_len));
        }
        at = content_at + content_len + delimiter.len();
    }
}

/// The `name` parameter of a part's `Content-Disposition: form-data` header.
fn part_name(headers: &[u8]) -> Option<&[u8]> {
    headers.split(|&b| b == b'\n').find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = line.iter().position(|&b| b == b':')?;
        if !line[..colon]
            .trim_ascii()
            .eq_ignore_ascii_case(b"content-disposition")
        {
            return None;
        }
        line[colon + 1..].split(|&b| b == b';').find_map(|param| {
            let param = param.trim_ascii();
            let value = param
                .strip_prefix(b"name=")
                .or_else(|| param.strip_prefix(b"NAME="))?;
            Some(unquote(value))
        })
    })
}

fn unquote(value: &[u8]) -> &[u8] {
    value
        .strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] =
        b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\
Content-Type: audio/wav\r\n\r\nRIFF\r\n--Xy not a delimiter\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"model\"\r\n\r\nopenai/whisper-1\r\n--XyZ\r\n\
Content-Disposition: form-data; name=model_extra\r\n\r\nx\r\n--XyZ--\r\n";

    #[test]
    fn the_boundary_comes_from_a_form_data_type_only() {
        let ct = b"multipart/form-data; boundary=\"XyZ\"";
        assert_eq!(form_data_boundary(ct), Some(Ok(&b"XyZ"[..])));
        let ct = b"Multipart/Form-Data;charset=utf-8; BOUNDARY=abc";
        assert_eq!(form_data_boundary(ct), Some(Ok(&b"abc"[..])));
        assert_eq!(form_data_boundary(b"application/json"), None);
        assert_eq!(
            form_data_boundary(b"multipart/form-data"),
            Some(Err(MultipartError::NoBoundary))
        );
    }

    #[test]
    fn finds_the_named_part_past_a_binary_one() {
        let range = find_field(BODY, b"XyZ", "model").unwrap().unwrap();
        assert_eq!(&BODY[range], b"openai/whisper-1");
        let range = find_field(BODY, b"XyZ", "model_extra").unwrap().unwrap();
        assert_eq!(&BODY[range], b"x");
        let range = find_field(BODY, b"XyZ", "file").unwrap().unwrap();
        assert_eq!(&BODY[range], b"RIFF\r\n--Xy not a delimiter");
        assert_eq!(find_field(BODY, b"XyZ", "language"), Ok(None));
    }

    #[test]
    fn broken_framing_is_an_error_never_a_panic() {
        for cut in 0..BODY.len() {
            let _ = find_field(&BODY[..cut], b"XyZ", "model");
        }
        assert!(find_field(b"no delimiter here", b"XyZ", "model").is_err());
        let unclosed = b"--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ngpt";
        assert!(find_field(unclosed, b"XyZ", "model").is_err());
    }
}
