//! Masking the credentials of a URL (or a libpq-style `key=value` connection string).

use crate::is_credential_name;

/// `url` with the password of its user info and the values of credential parameters
/// (`password=`, `sslpassword=`, `token=`, ...) replaced by `***`; the scheme, user, host,
/// port, path and other parameters stay, since they are what a reader needs to see which
/// server is meant.
///
/// It never fails: text that is not a URL has its `name=value` credential pairs masked and is
/// otherwise returned as it is. When unsure where the user info ends (an `@` in a parameter),
/// it masks too much rather than too little.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return redact_pairs(url);
    };
    let mut out = String::with_capacity(url.len() + 4);
    out.push_str(&url[..scheme_end]);
    let mut rest = &url[scheme_end..];
    // The last `@`: a password may contain an unescaped `@`, a host cannot.
    if let Some(at) = rest.rfind('@') {
        let userinfo = &rest[..at];
        match userinfo.find(':') {
            Some(colon) => {
                out.push_str(&userinfo[..colon]);
                out.push_str(":***");
            }
            None => out.push_str(userinfo),
        }
        out.push('@');
        rest = &rest[at + 1..];
    }
    out.push_str(&redact_pairs(rest));
    out
}

/// Masks the value of every `name=value` whose name is a credential's, where pairs are
/// separated by `?`, `&`, `;`, `#` or whitespace.
fn redact_pairs(text: &str) -> String {
    let is_separator = |c: char| matches!(c, '?' | '&' | ';' | '#') || c.is_whitespace();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(is_separator).unwrap_or(rest.len());
        let token = &rest[..end];
        match token.split_once('=') {
            Some((name, _)) if is_credential_name(name) => {
                out.push_str(name);
                out.push_str("=***");
            }
            _ => out.push_str(token),
        }
        // Copy the separator (one character, possibly multi-byte) and go on after it.
        let mut after = rest[end..].chars();
        if let Some(separator) = after.next() {
            out.push(separator);
        }
        rest = after.as_str();
    }
    out
}
