//! Prompt lengths and recording files for the simulated switch.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
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

/// Known prompts and how long each plays.
#[derive(Debug, Clone, Default)]
pub struct Prompts {
    lengths: HashMap<String, Duration>,
}

fn length_of(reader: hound::WavReader<impl std::io::Read>) -> Duration {
    let spec = reader.spec();
    let frames = reader.duration() as u64;
    Duration::from_micros(frames * 1_000_000 / u64::from(spec.sample_rate.max(1)))
}

impl Prompts {
    /// The built-in prompts, then every `*.wav` in `dir` (same name replaces).
    pub fn load(dir: &Path) -> Prompts {
        let mut lengths = HashMap::new();
        for (name, bytes) in BUILT_IN {
            let reader = hound::WavReader::new(std::io::Cursor::new(*bytes))
                .expect("built-in prompts are valid WAV");
            lengths.insert((*name).to_owned(), length_of(reader));
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
                match hound::WavReader::open(&path) {
                    Ok(r) => {
                        lengths.insert(name.to_owned(), length_of(r));
                    }
                    Err(e) => tracing::warn!(file = %path.display(), "not a usable prompt: {e}"),
                }
            }
        }
        Prompts { lengths }
    }

    /// Whether there is a prompt `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.lengths.contains_key(name)
    }

    /// Every prompt's name, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.lengths.keys().cloned().collect();
        v.sort();
        v
    }

    /// How long `name` plays.
    pub fn duration(&self, name: &str) -> Option<Duration> {
        self.lengths.get(name).copied()
    }
}

/// A recording in progress: the file is created at start and completed,
/// with its real length, when it stops.
pub struct Recorder {
    name: String,
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
        if name.is_absolute()
            || name
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(std::io::Error::other(
                "recording names are relative, without '..'",
            ));
        }
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
        Ok(Recorder {
            name: name.to_string_lossy().into_owned(),
            path,
            writer,
            started: now,
        })
    }

    /// The name relative to the recordings directory.
    pub fn name(&self) -> &str {
        &self.name
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
