"""Page arithmetic shared by the paginated tabs."""


def move(page: int, delta: int, total: int, page_size: int) -> int:
    """The page `delta` steps away, kept within 1..last page (a `delta` that is no small int, which only a
    crafted event sends, leaves the page where it is)."""
    if isinstance(delta, bool) or not isinstance(delta, int) or abs(delta) > 1_000_000:
        return page
    last = max(1, -(-total // page_size))
    return min(last, max(1, page + delta))
