"""Page arithmetic shared by the paginated tabs."""


def move(page: int, delta: int, total: int, page_size: int) -> int:
    """The page `delta` steps away, kept within 1..last page."""
    last = max(1, -(-total // page_size))
    return min(last, max(1, page + delta))
