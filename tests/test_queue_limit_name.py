"""The global concurrency limit of a store (flows.queue.limit_name) names the store, whatever the
folder a run starts in: a store on object storage (``s3://bucket/prefix``) is one store for every
run, so its runs must queue on one limit."""

from flows.queue import limit_name


def test_an_object_storage_store_has_one_limit_whatever_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    here = limit_name("s3://envq-data/hunan")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert limit_name("s3://envq-data/hunan") == here
    assert limit_name("s3://envq-data/hunan/") == here
    assert limit_name("s3://envq-data/other") != here


def test_a_folder_store_is_named_by_its_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert limit_name("store") == limit_name(tmp_path / "store") == limit_name(f"{tmp_path}/store/")
    assert limit_name("s3://envq-data/hunan") != limit_name(tmp_path / "s3:" / "envq-data" / "hunan")
