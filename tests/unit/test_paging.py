from routy_app.state.paging import move


def test_move_stays_within_the_pages():
    assert move(1, -1, 100, 20) == 1
    assert move(1, 1, 100, 20) == 2
    assert move(5, 1, 100, 20) == 5
    assert move(3, 1, 0, 20) == 1
    assert move(1, 1, 21, 20) == 2
