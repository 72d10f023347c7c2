//! How a queue group chooses among its ready agents.

use spcti_protocol::string_enum;

string_enum! {
    /// A queue group's offering strategy (`[[group]] strategy`).
    pub enum Strategy {
        /// The original's rule: lowest priority number first, then the agent idle longest.
        LongestIdle = "longest-idle",
        /// Every ready agent of the best priority rings at once; the first to answer wins.
        RingAll = "ring-all",
        /// Take turns, continuing after the agent offered last.
        RoundRobin = "round-robin",
        /// The agent who answered the fewest calls today.
        FewestCalls = "fewest-calls",
        /// The agent with the least talk time today.
        LeastTalkTime = "least-talk-time",
        /// Any ready agent of the best priority.
        Random = "random",
    }
}
