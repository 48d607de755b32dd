//! Comparing two runs of one run key (issue H): pairing their rows, and the statistics that
//! say whether the newer one got worse. Pure: the commands fetch, this decides.

pub mod pairing;
pub mod stats;
