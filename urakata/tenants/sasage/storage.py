"""Where photo files live: a directory outside the web root, one folder per image.

``<root>/sasage/<shop id>/<image id>/original.<ext>`` and ``<rendition>.jpg``. Paths are
made from ids and fixed names only, never from anything a user typed, and nothing here
decides who may read a file: the portal's views check the shop first. Writes go to a
temporary file that replaces the target, so a reader never sees half a file and a job
that runs twice writes the same bytes again.

A request that fails after its upload was written leaves an unreferenced folder behind
(ids are never reused, so it cannot be mistaken for another image's).
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

_NAME = re.compile(r"^(original\.(jpg|png|webp)|[a-z]+\.jpg)$")


class FileMissing(LookupError):
    """The file is not (or no longer) on disk."""


@dataclass(frozen=True)
class FileStore:
    root: Path

    @classmethod
    def at(cls, directory: str | Path) -> FileStore:
        return cls(Path(directory).resolve())

    def folder(self, shop_id: uuid.UUID, image_id: int) -> Path:
        return self.root / "sasage" / str(uuid.UUID(str(shop_id))) / str(int(image_id))

    def path(self, shop_id: uuid.UUID, image_id: int, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"not a file name the store uses: {name!r}")
        return self.folder(shop_id, image_id) / name

    def write(
        self, shop_id: uuid.UUID, image_id: int, name: str, data: bytes, *, durable: bool = True
    ) -> Path:
        """Write a file whole; ``durable`` waits for the disk (originals; renditions can be
        made again)."""
        target = self.path(shop_id, image_id, name)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        temporary = target.with_name(f".{name}.{uuid.uuid4().hex}.tmp")
        with open(temporary, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(temporary, target)
        return target

    def read(self, shop_id: uuid.UUID, image_id: int, name: str) -> bytes:
        try:
            return self.path(shop_id, image_id, name).read_bytes()
        except FileNotFoundError as exc:
            raise FileMissing(f"{name} of image {image_id} is not on disk") from exc

    def existing(self, shop_id: uuid.UUID, image_id: int, name: str) -> Path:
        path = self.path(shop_id, image_id, name)
        if not path.is_file():
            raise FileMissing(f"{name} of image {image_id} is not on disk")
        return path
