"""The real spine: the upload's outbox row is relayed to RQ, a SimpleWorker renders the
photos with progress on the task and in ``job.meta``, and the approval mail reaches the
SMTP server."""

from __future__ import annotations

from rq.job import Job

from tests.tenants.sasage.helpers import photo, request, submit, upload, write
from urakata.platform import tasks
from urakata.tenants.sasage import photos


def test_the_worker_renders_an_upload_and_reports_progress(db, shops, store, spine):
    shop_a, _ = shops
    spine.run()  # the world's welcome mails
    request_id = request(db, shop_a)
    task_id = upload(db, shop_a, request_id, store, photo(), photo("WEBP", (1000, 1000)))
    with db.tenant_session(shop_a.id) as s:
        assert tasks.get_task(s, task_id).status == "queued"
    assert spine.run() == 1
    with db.tenant_session(shop_a.id) as s:
        done = tasks.get_task(s, task_id)
        rendered = photos.list_photos(s, request_id)
        outbox_id = str(done.outbox_id)
    assert (done.status, done.result, done.progress_done, done.progress_total) == (
        "done", {"ready": 2, "failed": 0}, 2, 2,
    )  # fmt: skip
    assert [p.status for p in rendered] == ["ready", "ready"]
    meta = Job.fetch(outbox_id, connection=spine.ctx.redis).meta["progress"]
    assert meta == {"task_id": str(task_id), "status": "done", "done": 2, "total": 2}
    for image in rendered:
        assert store.existing(shop_a.id, image.id, "web.jpg").stat().st_size > 1000


def test_the_shop_admin_gets_a_mail_when_work_waits_for_approval(db, world, shops, spine, mailbox):
    shop_a, _ = shops
    spine.run()
    mailbox.clear()
    request_id = request(db, shop_a)
    write(db, shop_a, request_id)
    submit(db, shop_a, request_id, "copy")
    spine.run()
    assert [str(m["To"]) for m in mailbox] == [world.shop_admin_a.email]
    body = mailbox[0].get_body(preferencelist=("plain",)).get_content()
    assert f"/s/{shop_a.slug}/sasage/{request_id}" in body
    assert "TEE-001" in body and world.shop_b.name not in body
