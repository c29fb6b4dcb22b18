"""Which box a shipment goes in: the smallest size class (60/80/100…) its items fit.

Size classes are the catalog's (``catalog.services.SIZE_CLASSES``: the sum of the three
sides and a weight limit). Each class is packed in one stock box of the warehouse,
:data:`BOXES`, whose sides add up to the class. Items fit a box when each item's
sorted sides fit the box's sorted sides and their volume, with room for cushioning
(:data:`FILL`), is within the box's; the weight of items and box is within the class.
An item without measures cannot be fitted: its own size class from the catalog is
taken as the least, and the suggestion says it was a guess. The operator may always
choose another box.
"""

from __future__ import annotations

from dataclasses import dataclass

from urakata.tenants.catalog.services import SIZE_CLASSES

# Box inner sides in mm per size class (sum = the class in cm), and the box's weight (g).
BOXES: dict[int, tuple[tuple[int, int, int], int]] = {
    60: ((250, 200, 150), 150),
    80: ((350, 250, 200), 250),
    100: ((400, 300, 300), 400),
    120: ((500, 350, 350), 550),
    140: ((550, 450, 400), 700),
    160: ((600, 500, 500), 900),
}
FILL = 0.8  # items may take 80% of a box's volume; the rest is cushioning
MAX_WEIGHT = {name: weight for name, _sides, weight in SIZE_CLASSES}
SIZES = tuple(BOXES)


@dataclass(frozen=True)
class Item:
    sku: str
    quantity: int
    length_mm: int | None
    width_mm: int | None
    height_mm: int | None
    weight_g: int | None
    size_class: int | None = None

    @property
    def measured(self) -> bool:
        return None not in (self.length_mm, self.width_mm, self.height_mm)


@dataclass(frozen=True)
class Suggestion:
    size: int | None  # None: over the largest class (split the parcel)
    weight_g: int | None  # items + box; None when an item has no weight
    guessed: tuple[str, ...] = ()  # SKUs without measures (their catalog class was used)


def _fits(item: Item, box: tuple[int, int, int]) -> bool:
    sides = sorted((item.length_mm, item.width_mm, item.height_mm), reverse=True)
    return all(s <= b for s, b in zip(sides, sorted(box, reverse=True), strict=True))


def items_weight(items: list[Item]) -> int | None:
    if any(i.weight_g is None for i in items):
        return None
    return sum(i.weight_g * i.quantity for i in items)


def suggest(items: list[Item]) -> Suggestion:
    """The smallest class whose box holds every item, by sides, volume and weight."""
    guessed = tuple(i.sku for i in items if not i.measured)
    least = max((i.size_class or 60 for i in items if not i.measured), default=60)
    volume = sum(i.length_mm * i.width_mm * i.height_mm * i.quantity for i in items if i.measured)
    weight = items_weight(items)
    for size, (sides, box_weight) in BOXES.items():
        if size < least:
            continue
        if any(i.measured and not _fits(i, sides) for i in items):
            continue
        if volume > FILL * sides[0] * sides[1] * sides[2]:
            continue
        if weight is not None and weight + box_weight > MAX_WEIGHT[size]:
            continue
        return Suggestion(size, None if weight is None else weight + box_weight, guessed)
    return Suggestion(None, None if weight is None else weight + BOXES[160][1], guessed)


def box_weight(size: int) -> int:
    return BOXES[size][1]
