"""The library chart reaches the cluster as it is: each chart's packaged copy of openedx-lib is its current source.

The Kubernetes provider packages a `file://` dependency only when none is in the chart's charts/ folder, and keeps
that copy after (found on the real engine): the program packages the library itself, and these tests work on a
copy of charts/ to change the library freely.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from components.charts import PROJECT_DIR, package_dependencies
from components.helm import helm_binary
from tests.conftest import inputs, of_type

CONSUMERS = ("openedx-namespace", "openedx-services", "openedx", "openedx-provisioning")
INSTANCE_CHARTS = CONSUMERS[:3]  # what an instance with its own servers gets


@pytest.fixture
def charts(tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "charts"
    shutil.copytree(PROJECT_DIR / "charts", copy, ignore=shutil.ignore_patterns("*.tgz", "Chart.lock"))
    package_dependencies.cache_clear()
    yield copy
    package_dependencies.cache_clear()


def packaged(chart: Path) -> dict[str, bytes]:
    """The files of the library archive(s) in a chart's charts/ folder, by path inside the archive."""
    files = {}
    for archive in sorted((chart / "charts").glob("openedx-lib-*.tgz")):
        with tarfile.open(archive) as tar:
            files.update({m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()})  # type: ignore[union-attr]
    return files


def library_files(charts: Path) -> dict[str, bytes]:
    library = charts / "openedx-lib"
    return {f"openedx-lib/{p.relative_to(library).as_posix()}": p.read_bytes()
            for p in library.rglob("*") if p.is_file()}


def part_of_labels(chart: Path) -> set[str]:
    rendered = subprocess.run([helm_binary(), "template", "x", str(chart), "--set", "global.instance=demo"],
                              capture_output=True, text=True, check=True).stdout
    return {doc["metadata"]["labels"]["app.kubernetes.io/part-of"]
            for doc in yaml.safe_load_all(rendered) if doc and "labels" in doc.get("metadata", {})}


def test_an_edit_of_the_library_reaches_the_rendered_objects(charts: Path) -> None:
    chart = charts / "openedx-namespace"
    package_dependencies(chart)
    assert part_of_labels(chart) == {"openedx"}
    labels = charts / "openedx-lib" / "templates" / "_labels.tpl"
    labels.write_text(labels.read_text().replace('"app.kubernetes.io/part-of" "openedx"',
                                                 '"app.kubernetes.io/part-of" "edited"'))
    package_dependencies.cache_clear()  # a new program run
    package_dependencies(chart)
    assert part_of_labels(chart) == {"edited"}


def test_a_stale_or_other_version_archive_is_replaced_by_the_current_library(charts: Path) -> None:
    for chart in (charts / name for name in CONSUMERS):
        (chart / "charts").mkdir(exist_ok=True)
        version = yaml.safe_load((charts / "openedx-lib" / "Chart.yaml").read_text())["version"]
        stale = io.BytesIO()
        with tarfile.open(fileobj=stale, mode="w:gz") as tar:
            tar.addfile(tarfile.TarInfo("openedx-lib/Chart.yaml"), io.BytesIO(b""))
        (chart / "charts" / f"openedx-lib-{version}.tgz").write_bytes(stale.getvalue())
        (chart / "charts" / "openedx-lib-0.0.1.tgz").write_bytes(stale.getvalue())
        package_dependencies(chart)
        assert [p.name for p in (chart / "charts").glob("openedx-lib-*")] == [f"openedx-lib-{version}.tgz"]
        assert packaged(chart) == library_files(charts)


def test_an_unchanged_library_is_not_written_again(charts: Path) -> None:
    chart = charts / "openedx"
    package_dependencies(chart)
    (archive,) = (chart / "charts").glob("openedx-lib-*.tgz")
    before = archive.stat()
    package_dependencies.cache_clear()
    package_dependencies(chart)
    after = archive.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_the_program_packages_the_library_of_every_chart_it_releases(evaluate_stack, monkeypatch) -> None:
    packaged_charts: list[Path] = []
    monkeypatch.setattr("components.releases.package_dependencies", packaged_charts.append)
    recording = evaluate_stack(config={"openedx:platform": {"tls": {"issuer": "selfsigned"}},
                                       "openedx:instances": [{"name": "demo", "lmsHost": "demo.example.com"}]})
    released = {PROJECT_DIR / inputs(r)["chart"] for r in of_type(recording, "kubernetes:helm.sh/v3:Release")
                if not inputs(r).get("repositoryOpts")}
    assert released == {PROJECT_DIR / "charts" / name for name in INSTANCE_CHARTS}
    assert set(packaged_charts) == released
