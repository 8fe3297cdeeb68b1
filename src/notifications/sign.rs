//! The generic webhook's signature: HMAC-SHA256 of the exact body with the channel's secret,
//! so that a receiver can check that the POST came from someone who holds it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying `sha256=HEX`.
pub const SIGNATURE_HEADER: &str = "X-Shipdeck-Signature";

/// `sha256=` and the lowercase hex HMAC-SHA256 of `body` keyed with `key`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length: this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4231_case_2() {
        // RFC 4231, test case 2: key "Jefe".
        let sig = signature(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
