"""The photography task: uploads, their renditions (made by a job), order and main photo.

An upload is checked whole before anything is kept: every file must be a JPEG, PNG or
WebP by its content, within the size and pixel limits, new to the SKU, and the SKU may
hold at most ``IMAGES_MAX`` photos. Then the rows are added, the originals written to
the file store and one shop task started whose job makes the renditions
(:func:`render_pending`), reporting progress per photo.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from sqlalchemy import select

from urakata.platform import audit, tasks
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_, Message
from urakata.platform.tasks import ShopTask
from urakata.platform.tenancy import NotFound
from urakata.tenants.sasage import images as imaging
from urakata.tenants.sasage.models import SasageImage
from urakata.tenants.sasage.services import (
    OBJECT,
    SasageInvalid,
    StaleSasage,
    record_work,
    task_for_work,
)
from urakata.tenants.sasage.storage import FileMissing, FileStore

RENDER_KIND = "sasage.render"
RENDER_JOB = "sasage.render_images"
RENDER_QUEUE = "default"
IMAGES_MAX = 20  # Rakuten takes up to 20 photos a product
FILENAME_MAX = 200


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


class PhotosRefused(SasageInvalid):
    """Some files were refused (nothing was kept); ``files`` pairs names and reasons."""

    def __init__(self, files: list[tuple[str, Message]]):
        super().__init__({"images": [message for _name, message in files]})
        self.files = files


def original_name(image: SasageImage) -> str:
    return f"original.{imaging.FORMATS[image.format][2]}"


def display_filename(raw: str) -> str:
    """The file's own name, for people: no folders, no control characters, not endless
    (a label only: the photo is never found by it)."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if ch.isprintable()).strip()
    if len(name) > FILENAME_MAX:
        name = name[: FILENAME_MAX - 1] + "…"
    return name or "photo"


def list_photos(session: UrakataSession, request_id: int) -> list[SasageImage]:
    """The request's photos in their order (removed ones left out)."""
    return list(
        session.scalars(
            select(SasageImage)
            .where(SasageImage.request_id == request_id, SasageImage.removed_at.is_(None))
            .order_by(SasageImage.position, SasageImage.id)
        )
    )


def get_photo(session: UrakataSession, request_id: int, image_id: int) -> SasageImage:
    """A photo of this request of the bound shop, or :class:`NotFound` (foreign alike)."""
    image = session.scalar(
        select(SasageImage).where(
            SasageImage.id == image_id,
            SasageImage.request_id == request_id,
            SasageImage.removed_at.is_(None),
        )
    )
    if image is None:
        raise NotFound(f"no photo {image_id} in sasage request {request_id}")
    return image


def add_photos(
    session: UrakataSession,
    *,
    actor: Actor,
    request_id: int,
    uploads: list[Upload],
    store: FileStore,
) -> ShopTask:
    """Keep the uploads (all or none) and start the job that renders them."""
    task = task_for_work(session, request_id, "photo")
    if not uploads:
        raise SasageInvalid({"images": [N_("Choose one or more photos.")]})
    current = list_photos(session, request_id)
    checked = _check_uploads(current, uploads)
    position = max((i.position for i in current), default=0)
    added = []
    for upload, image in checked:
        position += 1
        added.append(
            SasageImage(
                request_id=request_id,
                position=position,
                is_main=False,
                filename=display_filename(upload.filename),
                format=image.format,
                sha256=image.sha256,
                byte_size=image.byte_size,
                width=image.width,
                height=image.height,
                uploaded_by=actor.user_id,
                uploaded_by_name=actor.label,
            )
        )
    session.add_all(added)
    if not any(i.is_main for i in current):
        added[0].is_main = True  # the first photo leads until someone chooses another
    session.flush()
    for (upload, _image), row in zip(checked, added, strict=True):
        store.write(session.tenant_id, row.id, original_name(row), upload.data)
    render = tasks.start_task(
        session, kind=RENDER_KIND, actor=actor, job=RENDER_JOB, queue=RENDER_QUEUE,
        request_id=request_id,
    )  # fmt: skip
    for row in added:
        row.render_task_id = render.id
    described = [
        {"id": r.id, "filename": r.filename, "format": r.format, "bytes": r.byte_size,
         "width": r.width, "height": r.height, "sha256": r.sha256} for r in added
    ]  # fmt: skip
    record_work(session, actor, task, "sasage.photos_uploaded", data={"photos": described})
    return render


def _check_uploads(current: list[SasageImage], uploads: list[Upload]):
    if len(current) + len(uploads) > IMAGES_MAX:
        raise SasageInvalid(
            {
                "images": [
                    N_(
                        "A SKU holds at most %(limit)d photos; it has %(count)d and %(new)d"
                        " were chosen.",
                        limit=IMAGES_MAX,
                        count=len(current),
                        new=len(uploads),
                    )
                ]
            }
        )
    known = {i.sha256: i.filename for i in current}
    refused, checked = [], []
    for upload in uploads:
        name = display_filename(upload.filename)
        try:
            image = imaging.check_image(upload.data)
        except imaging.ImageRefused as exc:
            refused.append((name, exc.message))
            continue
        if image.sha256 in known:
            refused.append(
                (name, N_("The same photo is there already (%(file)s).", file=known[image.sha256]))
            )
            continue
        known[image.sha256] = name
        checked.append((upload, image))
    if refused:
        raise PhotosRefused(refused)
    return checked


# --- the job's work ------------------------------------------------------------------------


def render_pending(
    session: UrakataSession,
    *,
    actor: Actor,
    request_id: int,
    store: FileStore,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Make the renditions of the request's photos waiting for them (locked, so two runs
    never do one photo twice); a photo that cannot be rendered is marked failed."""
    pending = list(
        session.scalars(
            select(SasageImage)
            .where(
                SasageImage.request_id == request_id,
                SasageImage.status == "pending",
                SasageImage.removed_at.is_(None),
            )
            .order_by(SasageImage.id)
            .with_for_update(skip_locked=True)
        )
    )
    ready, failed = [], []
    for n, image in enumerate(pending, start=1):
        try:
            made = imaging.render(store.read(session.tenant_id, image.id, original_name(image)))
        except (FileMissing, imaging.ImageRefused, OSError, ValueError, MemoryError) as exc:
            image.status, image.error = "failed", type(exc).__name__
            failed.append(image.id)
        else:
            for rendition in made:
                store.write(
                    session.tenant_id, image.id, f"{rendition.name}.jpg", rendition.data,
                    durable=False,
                )  # fmt: skip
            image.renditions = {r.name: [r.width, r.height] for r in made}
            image.status, image.rendered_at = "ready", utcnow()
            ready.append(image.id)
        if progress is not None:
            progress(n, len(pending))
    session.flush()
    if pending:
        audit.record(
            session,
            actor,
            "sasage.photos_rendered",
            object_type=OBJECT,
            object_id=request_id,
            data={"task": "photo", "ready": ready, "failed": failed},
        )
    return {"ready": len(ready), "failed": len(failed)}


def rendering_task_id(session: UrakataSession, request_id: int):
    """The shop task of the newest photos still waiting for renditions, or None."""
    return session.scalar(
        select(SasageImage.render_task_id)
        .where(
            SasageImage.request_id == request_id,
            SasageImage.status == "pending",
            SasageImage.removed_at.is_(None),
        )
        .order_by(SasageImage.id.desc())
        .limit(1)
    )


def renders_for(session: UrakataSession, request_id: int, task_id) -> bool:
    """Whether the shop task rendered (or renders) photos of this request."""
    found = select(SasageImage.id).where(
        SasageImage.request_id == request_id, SasageImage.render_task_id == task_id
    )
    return session.scalar(found.limit(1)) is not None


# --- order, main photo, removal --------------------------------------------------------------


def _photo_task(session: UrakataSession, request_id: int, version: int):
    task = task_for_work(session, request_id, "photo")
    if task.version != version:
        raise StaleSasage(f"photo task {task.id} is at version {task.version}, not {version}")
    return task


def move_photo(
    session: UrakataSession,
    *,
    actor: Actor,
    request_id: int,
    image_id: int,
    direction: str,
    version: int,
) -> SasageImage:
    """Move a photo one place ``up`` or ``down`` (to ``first``: to the front)."""
    task = _photo_task(session, request_id, version)
    photos = list_photos(session, request_id)
    image = get_photo(session, request_id, image_id)
    before = [p.id for p in photos]
    index = before.index(image.id)
    target = {"up": index - 1, "down": index + 1, "first": 0}.get(direction)
    if target is None:
        raise SasageInvalid({"direction": [N_("Choose up, down or first.")]})
    target = min(max(target, 0), len(photos) - 1)
    photos.insert(target, photos.pop(index))
    after = [p.id for p in photos]
    if after == before:
        return image
    for position, photo in enumerate(photos, start=1):
        photo.position = position
    record_work(session, actor, task, "sasage.photos_reordered", changes={"order": (before, after)})
    return image


def choose_main(
    session: UrakataSession, *, actor: Actor, request_id: int, image_id: int, version: int
) -> SasageImage:
    """The photo the malls show first (the shop sees it marked)."""
    task = _photo_task(session, request_id, version)
    image = get_photo(session, request_id, image_id)
    if image.is_main:
        return image
    previous = next((p for p in list_photos(session, request_id) if p.is_main), None)
    if previous is not None:
        previous.is_main = False
        session.flush()  # the partial unique index allows one main photo at a time
    image.is_main = True
    record_work(
        session, actor, task, "sasage.main_photo_chosen",
        changes={"main": (previous.id if previous else None, image.id)},
    )  # fmt: skip
    return image


def remove_photo(
    session: UrakataSession, *, actor: Actor, request_id: int, image_id: int, version: int
) -> SasageImage:
    """Take a photo out of the SKU's set (its files stay: the ledger refers to them)."""
    task = _photo_task(session, request_id, version)
    image = get_photo(session, request_id, image_id)
    image.removed_at = utcnow()
    was_main, image.is_main = image.is_main, False
    session.flush()
    rest = list_photos(session, request_id)
    for position, photo in enumerate(rest, start=1):
        photo.position = position
    if was_main and rest:
        rest[0].is_main = True
    record_work(
        session, actor, task, "sasage.photo_removed",
        data={"photo": image.id, "filename": image.filename,
              "main": rest[0].id if was_main and rest else None},
    )  # fmt: skip
    return image
