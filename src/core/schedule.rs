//! The refresh schedule: local expiry (with clock-skew correction) and the
//! refresh time `expiry - lead - jitter`, with the short-lifetime fallback.
