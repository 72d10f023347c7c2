//! Agent passwords: argon2id PHC strings in `[[agent]] password_hash`
//! (made by `spcti hash-password`), checked for 1001 on a blocking thread,
//! and a per-address lockout after repeated wrong passwords.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Wrong passwords from one address within [`WINDOW`] before it is locked out.
pub const MAX_FAILURES: u32 = 5;
/// The window failures are counted in, and how long a lockout lasts.
pub const WINDOW: Duration = Duration::from_secs(60);

/// A PHC string for `password` (argon2id, a fresh random salt).
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash: {e}"))
}

/// Whether a configured hash can be used: a PHC string of an argon2 variant.
pub fn check_hash(phc: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(phc).map_err(|e| {
        format!("not a PHC password hash ({e}); make one with `spcti hash-password`")
    })?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(format!(
            "algorithm {} is not argon2; make one with `spcti hash-password`",
            parsed.algorithm
        ));
    }
    Ok(())
}

/// Whether `password` matches the PHC string (slow by design: call it off
/// the actors' and the socket's threads).
pub fn verify(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Wrong passwords per address; sans-I/O (the caller passes the time).
#[derive(Debug, Default)]
pub struct Lockout {
    /// Address -> (first failure of the window, failures in it).
    failures: HashMap<IpAddr, (Instant, u32)>,
}

impl Lockout {
    /// `Err` with the seconds left when `ip` is locked out.
    pub fn check(&mut self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        match self.failures.get(&ip) {
            Some((since, n)) if *n >= MAX_FAILURES => {
                let until = *since + WINDOW;
                if now < until {
                    Err((until - now).as_secs().max(1))
                } else {
                    self.failures.remove(&ip);
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// A wrong password from `ip`. The lockout runs a full window from the
    /// failure that reached the limit.
    pub fn failed(&mut self, ip: IpAddr, now: Instant) {
        // Old entries go first, so the map is bounded by recent offenders.
        self.failures
            .retain(|_, (since, _)| now.saturating_duration_since(*since) < WINDOW);
        let entry = self.failures.entry(ip).or_insert((now, 0));
        entry.1 += 1;
        if entry.1 == MAX_FAILURES {
            entry.0 = now;
        }
    }

    /// A right password: the address starts afresh.
    pub fn succeeded(&mut self, ip: IpAddr) {
        self.failures.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert_eq!(check_hash(&h), Ok(()));
        assert!(verify(&h, "s3cret"));
        assert!(!verify(&h, "s3creT"));
        assert!(!verify("garbage", "s3cret"));
        assert!(check_hash("plain-text").is_err());
        assert!(check_hash("$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaA").is_err());
    }

    #[test]
    fn five_failures_lock_an_address_out_for_a_minute() {
        let mut l = Lockout::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES {
            assert_eq!(l.check(ip, t0), Ok(()), "failure {i}");
            l.failed(ip, t0 + Duration::from_secs(u64::from(i)));
        }
        let at = t0 + Duration::from_secs(10);
        assert!(l.check(ip, at).is_err());
        assert_eq!(l.check(other, at), Ok(()));
        // A window from the fifth failure (at 4 s).
        assert!(l.check(ip, t0 + Duration::from_secs(63)).is_err());
        assert_eq!(l.check(ip, t0 + Duration::from_secs(64)), Ok(()));
    }

    #[test]
    fn failures_spread_over_more_than_a_minute_do_not_lock() {
        let mut l = Lockout::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..10u64 {
            l.failed(ip, t0 + Duration::from_secs(i * 20));
            assert_eq!(l.check(ip, t0 + Duration::from_secs(i * 20)), Ok(()));
        }
    }
}
