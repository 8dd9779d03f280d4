//! Parsing and checking 1,000 lessons, as `nudge check` and every hot reload do (target: under
//! 200 ms on a 2-core machine).

use divan::Bencher;
use nudge::authoring::check::load_checked;

fn main() {
    divan::main();
}

/// A content directory with ten packs of 100 realistic lessons each (the example pack's
/// lessons, repeated under new ids).
fn thousand_lessons() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/content/customer-focus"));
    let mut originals: Vec<std::path::PathBuf> = std::fs::read_dir(source)
        .expect("example pack")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    originals.sort();
    for pack in 0..10 {
        let pack_dir = dir.path().join(format!("pack-{pack}"));
        std::fs::create_dir_all(&pack_dir).expect("pack dir");
        std::fs::copy(source.join("pack.toml"), pack_dir.join("pack.toml")).expect("pack.toml");
        for idx in 0..100 {
            let text = std::fs::read_to_string(&originals[idx % originals.len()]).expect("lesson");
            let text = text.replacen("id = \"", &format!("id = \"n{idx}-"), 1);
            std::fs::write(pack_dir.join(format!("{idx:03}-lesson.md")), text).expect("write");
        }
    }
    dir
}

#[divan::bench(sample_count = 20)]
fn parse_and_check_1000_lessons(bencher: Bencher) {
    let dir = thousand_lessons();
    bencher.bench(|| {
        let loaded = load_checked(dir.path());
        assert_eq!(loaded.n_lessons, 1000);
        assert!(!loaded.has_errors(), "{:?}", loaded.problems.first());
        loaded.packs.len()
    });
}
