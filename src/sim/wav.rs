//! Prompt lengths and recording files for the simulated switch.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use spcti_actors::clock::Mono;

/// The built-in prompts (`config/prompts`), compiled in so the binary runs anywhere.
const BUILT_IN: &[(&str, &[u8])] = &[
    (
        "welcome",
        include_bytes!("../../config/prompts/welcome.wav"),
    ),
    ("queue", include_bytes!("../../config/prompts/queue.wav")),
    ("busy", include_bytes!("../../config/prompts/busy.wav")),
    (
        "goodbye",
        include_bytes!("../../config/prompts/goodbye.wav"),
    ),
    // The shipped survey flow's (config/flows/survey.json).
    ("survey", include_bytes!("../../config/prompts/survey.wav")),
    ("thanks", include_bytes!("../../config/prompts/thanks.wav")),
    // A queue's position and expected-wait announcements.
    (
        "queue_position",
        include_bytes!("../../config/prompts/queue_position.wav"),
    ),
    (
        "queue_wait",
        include_bytes!("../../config/prompts/queue_wait.wav"),
    ),
    (
        "minutes",
        include_bytes!("../../config/prompts/minutes.wav"),
    ),
    // The flows' `say` node speaks numbers with these (English, Chinese).
    ("en_0", include_bytes!("../../config/prompts/en_0.wav")),
    ("en_1", include_bytes!("../../config/prompts/en_1.wav")),
    ("en_2", include_bytes!("../../config/prompts/en_2.wav")),
    ("en_3", include_bytes!("../../config/prompts/en_3.wav")),
    ("en_4", include_bytes!("../../config/prompts/en_4.wav")),
    ("en_5", include_bytes!("../../config/prompts/en_5.wav")),
    ("en_6", include_bytes!("../../config/prompts/en_6.wav")),
    ("en_7", include_bytes!("../../config/prompts/en_7.wav")),
    ("en_8", include_bytes!("../../config/prompts/en_8.wav")),
    ("en_9", include_bytes!("../../config/prompts/en_9.wav")),
    ("en_10", include_bytes!("../../config/prompts/en_10.wav")),
    ("en_11", include_bytes!("../../config/prompts/en_11.wav")),
    ("en_12", include_bytes!("../../config/prompts/en_12.wav")),
    ("en_13", include_bytes!("../../config/prompts/en_13.wav")),
    ("en_14", include_bytes!("../../config/prompts/en_14.wav")),
    ("en_15", include_bytes!("../../config/prompts/en_15.wav")),
    ("en_16", include_bytes!("../../config/prompts/en_16.wav")),
    ("en_17", include_bytes!("../../config/prompts/en_17.wav")),
    ("en_18", include_bytes!("../../config/prompts/en_18.wav")),
    ("en_19", include_bytes!("../../config/prompts/en_19.wav")),
    ("en_20", include_bytes!("../../config/prompts/en_20.wav")),
    ("en_30", include_bytes!("../../config/prompts/en_30.wav")),
    ("en_40", include_bytes!("../../config/prompts/en_40.wav")),
    ("en_50", include_bytes!("../../config/prompts/en_50.wav")),
    ("en_60", include_bytes!("../../config/prompts/en_60.wav")),
    ("en_70", include_bytes!("../../config/prompts/en_70.wav")),
    ("en_80", include_bytes!("../../config/prompts/en_80.wav")),
    ("en_90", include_bytes!("../../config/prompts/en_90.wav")),
    (
        "en_hundred",
        include_bytes!("../../config/prompts/en_hundred.wav"),
    ),
    (
        "en_thousand",
        include_bytes!("../../config/prompts/en_thousand.wav"),
    ),
    (
        "en_million",
        include_bytes!("../../config/prompts/en_million.wav"),
    ),
    (
        "en_billion",
        include_bytes!("../../config/prompts/en_billion.wav"),
    ),
    ("zh_0", include_bytes!("../../config/prompts/zh_0.wav")),
    ("zh_1", include_bytes!("../../config/prompts/zh_1.wav")),
    ("zh_2", include_bytes!("../../config/prompts/zh_2.wav")),
    ("zh_3", include_bytes!("../../config/prompts/zh_3.wav")),
    ("zh_4", include_bytes!("../../config/prompts/zh_4.wav")),
    ("zh_5", include_bytes!("../../config/prompts/zh_5.wav")),
    ("zh_6", include_bytes!("../../config/prompts/zh_6.wav")),
    ("zh_7", include_bytes!("../../config/prompts/zh_7.wav")),
    ("zh_8", include_bytes!("../../config/prompts/zh_8.wav")),
    ("zh_9", include_bytes!("../../config/prompts/zh_9.wav")),
    ("zh_10", include_bytes!("../../config/prompts/zh_10.wav")),
    ("zh_100", include_bytes!("../../config/prompts/zh_100.wav")),
    (
        "zh_1000",
        include_bytes!("../../config/prompts/zh_1000.wav"),
    ),
    (
        "zh_10000",
        include_bytes!("../../config/prompts/zh_10000.wav"),
    ),
    (
        "zh_100000000",
        include_bytes!("../../config/prompts/zh_100000000.wav"),
    ),
    // The flows' `say` node speaks digits with these.
    (
        "digit_0",
        include_bytes!("../../config/prompts/digit_0.wav"),
    ),
    (
        "digit_1",
        include_bytes!("../../config/prompts/digit_1.wav"),
    ),
    (
        "digit_2",
        include_bytes!("../../config/prompts/digit_2.wav"),
    ),
    (
        "digit_3",
        include_bytes!("../../config/prompts/digit_3.wav"),
    ),
    (
        "digit_4",
        include_bytes!("../../config/prompts/digit_4.wav"),
    ),
    (
        "digit_5",
        include_bytes!("../../config/prompts/digit_5.wav"),
    ),
    (
        "digit_6",
        include_bytes!("../../config/prompts/digit_6.wav"),
    ),
    (
        "digit_7",
        include_bytes!("../../config/prompts/digit_7.wav"),
    ),
    (
        "digit_8",
        include_bytes!("../../config/prompts/digit_8.wav"),
    ),
    (
        "digit_9",
        include_bytes!("../../config/prompts/digit_9.wav"),
    ),
    (
        "digit_star",
        include_bytes!("../../config/prompts/digit_star.wav"),
    ),
    (
        "digit_hash",
        include_bytes!("../../config/prompts/digit_hash.wav"),
    ),
];

/// Sample rate of recordings (what Keygoe boards record).
pub const RECORD_RATE: u32 = 8000;

/// Known prompts and how long each plays, shared: the switch plays them,
/// the flows are checked against them, and the admin API adds and removes
/// them while the server runs (clones share one table).
#[derive(Debug, Clone, Default)]
pub struct Prompts {
    lengths: Arc<RwLock<HashMap<String, Duration>>>,
    /// Prompts' audio once decoded (a SIP call plays it; every call shares
    /// it); an upload or removal forgets its entry.
    pcm: Arc<RwLock<HashMap<String, Arc<[i16]>>>>,
    /// Where uploaded prompts are written (`[sim] prompt_dir`).
    dir: PathBuf,
}

/// A prompt's file checked: 8 kHz mono, 16-bit PCM, A-law or µ-law
/// (format tags 1, 6, 7). Answers how long it plays, or why it cannot be
/// a prompt.
pub fn check_prompt(bytes: &[u8]) -> Result<Duration, String> {
    let (tag, data) = prompt_data(bytes)?;
    let width = if tag == 1 { 2 } else { 1 };
    Ok(Duration::from_micros(
        data.len() as u64 * 1_000_000 / (8000 * width),
    ))
}

/// A prompt's audio as 16-bit PCM at 8 kHz (what a SIP call plays).
pub fn prompt_samples(bytes: &[u8]) -> Result<Vec<i16>, String> {
    let (tag, data) = prompt_data(bytes)?;
    Ok(match tag {
        6 => data
            .iter()
            .map(|b| spcti_protocol::g711::alaw_decode(*b))
            .collect(),
        7 => data
            .iter()
            .map(|b| spcti_protocol::g711::ulaw_decode(*b))
            .collect(),
        _ => data
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect(),
    })
}

/// A prompt's format tag and `data` chunk, checked.
fn prompt_data(bytes: &[u8]) -> Result<(u16, &[u8]), String> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err("not a WAV file (no RIFF/WAVE header)".into());
    }
    let (mut fmt, mut data) = (None, None);
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes")) as usize;
        let body = at + 8;
        let end = body.saturating_add(len).min(bytes.len());
        match id {
            b"fmt " if len >= 16 && end - body >= 16 => fmt = Some(&bytes[body..end]),
            b"data" => data = Some(&bytes[body..end]),
            _ => {}
        }
        // Chunks are padded to an even length.
        at = body.saturating_add(len).saturating_add(len & 1);
    }
    let fmt = fmt.ok_or("no `fmt ` chunk")?;
    let data = data.ok_or("no `data` chunk")?;
    let u16_at = |i: usize| u16::from_le_bytes([fmt[i], fmt[i + 1]]);
    let (tag, channels, bits) = (u16_at(0), u16_at(2), u16_at(14));
    let rate = u32::from_le_bytes(fmt[4..8].try_into().expect("4 bytes"));
    match (tag, bits) {
        (1, 16) | (6 | 7, 8) => {}
        (1, b) => {
            return Err(format!(
                "{b}-bit PCM; prompts are 16-bit PCM, A-law or µ-law"
            ));
        }
        (6 | 7, b) => return Err(format!("{b}-bit A-law/µ-law; it must be 8-bit")),
        (t, _) => {
            return Err(format!(
                "format tag {t}; prompts are PCM (1), A-law (6) or µ-law (7)"
            ));
        }
    }
    if channels != 1 {
        return Err(format!("{channels} channels; prompts are mono"));
    }
    if rate != 8000 {
        return Err(format!("{rate} Hz; prompts are 8000 Hz"));
    }
    Ok((tag, data))
}

/// The names of the built-in prompts (they cannot be removed, only replaced).
pub fn built_in(name: &str) -> bool {
    BUILT_IN.iter().any(|(n, _)| *n == name)
}

impl Prompts {
    /// The built-in prompts, then every `*.wav` in `dir` (same name replaces).
    pub fn load(dir: &Path) -> Prompts {
        let mut lengths = HashMap::new();
        for (name, bytes) in BUILT_IN {
            let len = check_prompt(bytes).expect("built-in prompts are valid WAV");
            lengths.insert((*name).to_owned(), len);
        }
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().and_then(|e| e.to_str()) != Some("wav") {
                    continue;
                }
                let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
                    continue;
                };
                match std::fs::read(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|b| check_prompt(&b))
                {
                    Ok(len) => {
                        lengths.insert(name.to_owned(), len);
                    }
                    Err(e) => tracing::warn!(file = %path.display(), "not a usable prompt: {e}"),
                }
            }
        }
        Prompts {
            lengths: Arc::new(RwLock::new(lengths)),
            pcm: Arc::default(),
            dir: dir.to_owned(),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Duration>> {
        self.lengths.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether there is a prompt `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.read().contains_key(name)
    }

    /// Every prompt's name, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.read().keys().cloned().collect();
        v.sort();
        v
    }

    /// Every prompt with how long it plays, sorted by name.
    pub fn list(&self) -> Vec<(String, Duration)> {
        let mut v: Vec<(String, Duration)> =
            self.read().iter().map(|(k, d)| (k.clone(), *d)).collect();
        v.sort();
        v
    }

    /// How long `name` plays.
    pub fn duration(&self, name: &str) -> Option<Duration> {
        self.read().get(name).copied()
    }

    /// A prompt's audio, 16-bit PCM at 8 kHz: an uploaded file of that
    /// name first, else the built-in one.
    pub fn samples(&self, name: &str) -> Option<Arc<[i16]>> {
        if !self.contains(name) {
            return None;
        }
        if let Some(p) = self.pcm.read().unwrap_or_else(|e| e.into_inner()).get(name) {
            return Some(p.clone());
        }
        let file = std::fs::read(self.dir.join(format!("{name}.wav"))).ok();
        let bytes = match &file {
            Some(b) => b.as_slice(),
            None => BUILT_IN.iter().find(|(n, _)| *n == name)?.1,
        };
        let pcm: Arc<[i16]> = prompt_samples(bytes)
            .map_err(|e| tracing::warn!(%name, "prompt cannot be played: {e}"))
            .ok()?
            .into();
        self.pcm
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_owned(), pcm.clone());
        Some(pcm)
    }

    fn forget_pcm(&self, name: &str) {
        self.pcm
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }

    /// Writes an uploaded prompt to the prompt directory and plays it from
    /// now on (the file first: a prompt that is listed is on disk).
    pub fn put(&self, name: &str, bytes: &[u8]) -> Result<Duration, String> {
        let len = check_prompt(bytes)?;
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let path = self.dir.join(format!("{name}.wav"));
        let tmp = self.dir.join(format!(".{name}.wav.tmp"));
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        self.lengths
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_owned(), len);
        self.forget_pcm(name);
        Ok(len)
    }

    /// Removes an uploaded prompt and its file. Built-in prompts are kept
    /// (the prompt directory may be the one they are built from): a site
    /// changes one by uploading a replacement.
    pub fn remove(&self, name: &str) -> Result<(), String> {
        if built_in(name) {
            return Err(format!(
                "`{name}` is a built-in prompt; upload a replacement to change it"
            ));
        }
        let path = self.dir.join(format!("{name}.wav"));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove {}: {e}", path.display())),
        }
        self.lengths
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        self.forget_pcm(name);
        Ok(())
    }
}

/// Refuses a recording name that is absolute or climbs with `..`.
pub fn check_recording_name(name: &Path) -> std::io::Result<()> {
    if name.is_absolute()
        || name
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(std::io::Error::other(
            "recording names are relative, without '..'",
        ));
    }
    Ok(())
}

/// A recording's WAV file (16-bit 8 kHz mono) created at `dir/name`, its
/// directories made; `name` must be relative, without `..`. Both
/// switches' recordings start here.
pub fn recording_file(
    dir: &Path,
    name: &Path,
) -> std::io::Result<(PathBuf, hound::WavWriter<BufWriter<File>>)> {
    check_recording_name(name)?;
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RECORD_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let writer = hound::WavWriter::create(&path, spec).map_err(std::io::Error::other)?;
    Ok((path, writer))
}

/// A recording in progress: the file is created at start and completed,
/// with its real length, when it stops.
pub struct Recorder {
    path: PathBuf,
    writer: hound::WavWriter<BufWriter<File>>,
    started: Mono,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .finish()
    }
}

impl Recorder {
    /// Starts `dir/name` (name relative, e.g. `20261124/GUID.wav`).
    pub fn start(dir: &Path, name: &Path, now: Mono) -> std::io::Result<Recorder> {
        let (path, writer) = recording_file(dir, name)?;
        Ok(Recorder {
            path,
            writer,
            started: now,
        })
    }

    /// Writes the call's length of audio and closes the file. The simulated
    /// parties say nothing, so the audio is silence.
    pub fn finish(mut self, now: Mono) -> std::io::Result<(PathBuf, Duration)> {
        let length = now.saturating_sub(self.started);
        let samples = length.as_micros() as u64 * u64::from(RECORD_RATE) / 1_000_000;
        {
            let mut w = self.writer.get_i16_writer(samples as u32);
            for _ in 0..samples {
                w.write_sample(0i16);
            }
            w.flush().map_err(std::io::Error::other)?;
        }
        self.writer.finalize().map_err(std::io::Error::other)?;
        Ok((self.path, length))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_prompts_have_their_lengths() {
        let p = Prompts::load(Path::new("/nonexistent"));
        assert_eq!(p.duration("welcome"), Some(Duration::from_secs(2)));
        assert_eq!(p.duration("nope"), None);
    }

    #[test]
    fn a_recording_is_a_wav_of_the_call_length() {
        let dir = tempfile::tempdir().unwrap();
        let r = Recorder::start(
            dir.path(),
            Path::new("20260101/x.wav"),
            Duration::from_secs(10),
        )
        .unwrap();
        let (path, len) = r.finish(Duration::from_millis(12_500)).unwrap();
        assert_eq!(len, Duration::from_millis(2500));
        let reader = hound::WavReader::open(path).unwrap();
        assert_eq!(reader.duration(), 20_000);
        assert!(Recorder::start(dir.path(), Path::new("../x.wav"), Duration::ZERO).is_err());
    }
}
