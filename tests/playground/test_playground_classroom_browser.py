"""Issue 36 in headless Chromium: a teacher and two students (three browser contexts), run
history with comparison and restore, the backpropagation step mode, and the rough edges
(every bad URL parameter shown and removed, a CSV's axes in its units, errors naming the
file, smooth multiclass maps, the inline weight editor).

Set NNLEARN_SCREENSHOT_DIR to keep the screenshots (teacher view at 1280 px, the
comparison, the step mode)."""

import json
import os

import pytest

from browser import needs_chromium
from test_playground import CHROMIUM, running_server, three_class_csv

pytestmark = needs_chromium  # the system's Chromium, or a skip saying what to install
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = os.environ.get("NNLEARN_SCREENSHOT_DIR")


def shown(value, digits=4):
    """A number as the step mode writes it (app.js fmtDigits): ``digits`` decimals, or
    scientific notation when that would round a non-zero value to 0."""
    if value != 0 and abs(value) < 0.5 * 10 ** -digits:
        mantissa, exponent = f"{value:.{digits - 2}e}".split("e")
        return f"{mantissa}e{int(exponent):+d}"
    return f"{value:.{digits}f}"


def shot(page, name, tmp_path, **options):
    path = os.path.join(SHOTS, name) if SHOTS else str(tmp_path / name)
    page.screenshot(path=path, **options)
    return path


def opened(p, address, errors, query=""):
    """(browser, page): Chromium on the playground at ``address`` with ``query``, the
    page's errors collected in ``errors``, once its settings have arrived."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"http://{address}/{query}")
    page.wait_for_function("state.settings && state.frame")
    return browser, page


def student_page(browser, address, errors, query=""):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"http://{address}/?token=class-token{query}")
    page.wait_for_function("state.frame !== null")
    return page


def test_a_teacher_sees_two_students_sends_a_challenge_and_ranks_them(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    errors = []
    with running_server(token="class-token", teacher_token="teacher-token",
                        max_per_client=4) as (address, _), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ada = student_page(browser, address, errors)
        bob = student_page(browser, address, errors)
        ada.fill("#student_name", "Ada")
        ada.press("#student_name", "Enter")
        teacher_context = browser.new_context(viewport={"width": 1280, "height": 900})
        teacher = teacher_context.new_page()
        teacher.on("pageerror", lambda e: errors.append(str(e)))
        # a student without the teacher's token: 403 on the page and its data routes
        for path in ("/teacher?token=class-token", "/teacher/sessions?token=class-token"):
            assert ada.request.get(f"http://{address}{path}").status == 403, path
        assert ada.request.post(f"http://{address}/teacher/challenge?token=class-token",
                                data=json.dumps({"query": "dataset=xor"})).status == 403
        refused = ada.evaluate("""(url) => new Promise((done) => {
            const ws = new WebSocket(url);
            ws.onopen = () => done('open');
            ws.onclose = () => done('closed');
        })""", f"ws://{address}/ws/watch?sid={bob.evaluate('state.sid')}&token=class-token")
        assert refused == "closed"
        # both students train; the teacher sees both, their losses live
        for page in (ada, bob):
            page.click("#run")
        teacher.goto(f"http://{address}/teacher?token=teacher-token")
        teacher.wait_for_function("document.querySelectorAll('#students tbody tr').length === 2")
        names = teacher.locator("#students tbody tr td:nth-child(2)").all_inner_texts()
        assert names == ["Ada", "Student 2"]
        first = [int(e) for e in teacher.locator("#students tbody td:nth-child(7)")
                 .all_inner_texts()]
        teacher.wait_for_function(f"""[...document.querySelectorAll(
            '#students tbody td:nth-child(7)')].every((td, i) =>
            Number(td.textContent) > {first}[i])""", timeout=20_000)
        assert all(t != "–" for t in teacher.locator(".test-loss").all_inner_texts())
        # a challenge: both pages switch to its data
        teacher.fill("#challenge_query", f"http://{address}/?token=class-token&dataset=spiral"
                                         "&noise=10&hidden=6,4&features=x1,x2,sin(x1),sin(x2)")
        teacher.click("#send_challenge")
        for page in (ada, bob):
            page.wait_for_function("state.settings.dataset === 'spiral' && "
                                   "state.settings.noise === 10 && !state.running")
            assert "Challenge 1 from the teacher" in page.inner_text("#banner")
            assert "dataset=spiral" in page.url and "noise=10" in page.url
        teacher.wait_for_selector("#challenge_now:has-text('Challenge 1')")
        # they train differently; the leaderboard ranks them by test loss
        bob.select_option("#optimizer", "adam")
        bob.wait_for_function("state.settings.optimizer === 'adam'")
        for page, epochs in ((ada, 20), (bob, 60)):
            page.evaluate(f"for (let i = 0; i < {epochs}; i++) send('step')")
            page.wait_for_function(f"state.frame.epoch === {epochs}", timeout=60_000)
        teacher.wait_for_function("document.querySelectorAll('#leaderboard li').length === 2"
                                  " && [...document.querySelectorAll('#students tbody td:"
                                  "nth-child(7)')].map((td) => td.textContent).sort()"
                                  ".join() === '20,60'", timeout=10_000)
        losses = {name: float(page.evaluate("state.frame.test.loss"))
                  for name, page in (("Ada", ada), ("Student 2", bob))}
        board = teacher.locator("#leaderboard li").all_inner_texts()
        ranked = sorted(losses, key=losses.get)
        assert [line.split("epoch")[0].strip() for line in board] == ranked, (board, losses)
        for line, name in zip(board, ranked):
            assert line.rstrip().endswith(f"{losses[name]:.3f}")
        # sortable: by test loss, then the other way
        teacher.click("#students th[data-sort=test_loss]")
        column = teacher.locator("#students tbody .test-loss")
        assert [float(t) for t in column.all_inner_texts()] == \
            sorted(float(t) for t in column.all_inner_texts())
        teacher.click("#students th[data-sort=test_loss]")
        assert [float(t) for t in column.all_inner_texts()] == \
            sorted((float(t) for t in column.all_inner_texts()), reverse=True)
        teacher.click("#students th[data-sort=number]")
        # both tabs paused: the page names the thumbnails it has, the server leaves them
        # out, and the page still draws them
        for _ in range(2):
            with teacher.expect_response(lambda r: "/teacher/sessions" in r.url) as reply:
                pass
        rows = reply.value.json()["sessions"]
        assert all(f"{row['id']}.{row['version']}" in reply.value.url.replace("%2C", ",")
                   .replace("%2E", ".") for row in rows), reply.value.url
        assert [row["thumbnail"] for row in rows] == [None, None]
        teacher.wait_for_timeout(300)
        inked = teacher.evaluate("""[...document.querySelectorAll('#students canvas')]
            .map((c) => [...c.getContext('2d').getImageData(0, 0, c.width, c.height).data]
                 .filter((v, i) => i % 4 === 3 && v > 0).length)""")
        assert len(inked) == 2 and min(inked) > 1000, inked
        # the rows are updated in place, not rebuilt every second (a click could land
        # on a row just replaced): the same elements after two refreshes
        rows_before = teacher.locator("#students tbody tr").element_handles()
        teacher.wait_for_timeout(2200)
        assert all(r.evaluate("(e) => e.isConnected") for r in rows_before)
        teacher.set_viewport_size({"width": 1280, "height": 720})
        shot(teacher, "teacher_1280.png", tmp_path, full_page=True)
        # the teacher opens Ada's network, read-only, in a new tab (to project it)
        with teacher_context.expect_page() as opened:
            teacher.locator(f"#students tbody tr[data-id='{ada.evaluate('state.sid')}'] a").click()
        watch = opened.value
        watch.on("pageerror", lambda e: errors.append(str(e)))
        watch.wait_for_function("state.frame && state.frame.epoch === 20")
        assert "Watching Ada's network (read-only)" in watch.inner_text("#banner")
        assert "teacher=" not in watch.url and "watch=" in watch.url   # no token projected
        watch.reload()                                  # the tab keeps it: still connected
        watch.wait_for_function("state.frame && state.frame.epoch === 20")
        assert watch.is_disabled("#run") and watch.is_disabled("#learning_rate")
        assert watch.evaluate("state.settings.dataset") == "spiral"
        ada.evaluate("send('step')")   # the view follows the student's tab
        watch.wait_for_function("state.frame.epoch === 21")
        shot(watch, "teacher_watch.png", tmp_path)
        browser.close()
    assert not errors, errors


def test_two_runs_compared_and_one_restored_reaches_the_same_loss(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    errors = []
    with running_server() as (address, _), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"http://{address}/?dataset=xor&hidden=4&learning_rate=0.03")
        page.wait_for_function("state.settings && state.settings.dataset === 'xor'")

        def hundred_epochs():
            page.evaluate("for (let i = 0; i < 100; i++) send('step')")
            page.wait_for_function("state.frame.epoch === 100", timeout=60_000)
            page.wait_for_timeout(200)
            return page.inner_text("#test_loss")

        first = hundred_epochs()
        page.select_option("#learning_rate", "0.3")
        page.wait_for_function("state.settings.learning_rate === 0.3 && state.frame.epoch === 0")
        second = hundred_epochs()
        assert first != second
        page.wait_for_function("document.querySelectorAll('#runs li').length === 2")
        for box in page.locator("#runs input[type=checkbox]").all():
            box.check()
        page.click("#compare")
        page.wait_for_selector("#compare_dialog[open]")
        legend = page.locator("#compare_legend div").all_inner_texts()
        assert len(legend) == 2 and f"test loss {first}" in legend[0] and \
            f"test loss {second}" in legend[1]
        assert page.locator("#compare_maps canvas").count() == 2
        # both curves drawn on the shared axes: two run colours in the chart
        colours = page.evaluate("""() => {
            const c = document.querySelector('#compare_chart'), d = c.getContext('2d')
                .getImageData(0, 0, c.width, c.height).data, seen = new Set();
            for (let i = 0; i < d.length; i += 4)
                if (d[i + 3] > 200) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
            return [...seen];
        }""")
        assert {"31,119,180", "255,127,14"} <= set(colours)
        shot(page, "compare_runs.png", tmp_path)
        # restore the first run: the same settings, trained again to the same loss
        page.locator("#compare_maps figure").first.locator("button").click()
        page.wait_for_function("state.settings.learning_rate === 0.03 && state.frame.epoch === 0")
        assert hundred_epochs() == first
        assert page.locator("#runs li").count() == 3
        # the tab's runs outlive a reload
        page.reload()
        page.wait_for_function("state.frame !== null")
        assert page.locator("#runs li").count() == 3
        assert page.locator("#runs li .run-text b").all_inner_texts() == \
            ["Run 3", "Run 2", "Run 1"]
        browser.close()
    assert not errors, errors


def test_step_mode_shows_the_servers_numbers_in_order(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    errors = []
    with running_server() as (address, app), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"http://{address}/?dataset=xor&hidden=2&features=x1,x2")
        page.wait_for_function("state.settings && state.settings.hidden.length === 1")
        page.evaluate("for (let i = 0; i < 10; i++) send('step')")
        page.wait_for_function("state.frame.epoch === 10")
        page.click("#bp_toggle")
        page.wait_for_selector("#bp_panel:not([hidden])")
        # click the map: the nearest training point becomes the one followed
        page.locator("#output_map").click(position={"x": 240, "y": 60})
        page.wait_for_function("state.bp && state.bp.message.index !== 0")
        index = page.evaluate("state.bp.message.index")
        session = next(iter(app.state.playground.sessions.values()))[0]
        expected = session.backprop(index)["steps"]
        assert page.evaluate("state.bp.message.steps") == expected
        texts = []
        for k in range(len(expected)):
            texts.append(page.inner_text("#bp_text"))
            assert page.inner_text("#bp_count") == f"step {k + 1} of {len(expected)}"
            if k == 2:
                assert "a = sigmoid(z)" in texts[-1]
            if k == 13:
                shot(page, "step_mode_backward.png", tmp_path)
            page.keyboard.press("ArrowRight")
        assert texts[0].startswith("Forward, layer 1 neuron 1") and \
            shown(expected[0]['a']) in texts[0]
        assert texts[3].startswith("Loss (binary_crossentropy)")
        assert texts[4].startswith("Backward, output neuron 1") and \
            shown(expected[4]['dL_dz']) in texts[4]
        # a weight's gradient: its input times its neuron's dL/dz, both numbers shown
        assert texts[5].startswith("Weight w1,1 into output") and \
            f"= {shown(expected[5]['input'])} \u00d7 {shown(expected[4]['dL_dz'])} = " \
            f"{shown(expected[5]['grad'])}" in texts[5], texts[5]
        for k, step in enumerate(expected):   # a vanishing gradient does not read as 0
            if step["kind"] in ("weight", "bias") and step["grad"] != 0:
                assert not texts[k].rstrip().endswith(("= 0.0000", "= -0.0000")), texts[k]
        assert texts[8].startswith("Backward, layer 1 neuron 1")
        page.click("#bp_first")
        for _ in range(2):
            page.click("#bp_next")
        shot(page, "step_mode_forward.png", tmp_path)
        # a step of training: the numbers follow the new weights
        page.click("#step")
        page.wait_for_function("state.bp.message.epoch === 11 && state.bp.step === 2")
        page.click("#run")   # training moves on: the step mode closes
        page.wait_for_selector("#bp_panel[hidden]", state="attached")
        page.click("#run")
        browser.close()
    assert not errors, errors


def test_two_setting_changes_made_together_both_take_effect(tmp_path):
    """The second change builds on the first one sent, not on the last settings the
    server confirmed (which would put the first one back)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    errors = []
    with running_server() as (address, _), sync_api.sync_playwright() as p:
        browser, page = opened(p, address, errors, "?dataset=circle&activation=tanh"
                                                   "&learning_rate=0.03")
        page.evaluate("sendSettings({dataset: 'spiral'}); sendSettings({activation: 'relu'});"
                      "sendSettings({learning_rate: 0.3})")
        page.wait_for_function("state.settings.learning_rate === 0.3")
        page.wait_for_timeout(300)   # any late answer would have arrived
        assert page.evaluate("[state.settings.dataset, state.settings.activation, "
                             "state.settings.learning_rate]") == ["spiral", "relu", 0.3]
        page.select_option("#learning_rate", "0.01")   # later changes build on the answer
        page.wait_for_function("state.settings.learning_rate === 0.01")
        assert page.evaluate("state.settings.dataset") == "spiral"
        # two quick clicks on a layer's + add two neurons, and a point drawn in between
        # (which makes the data set "custom") stays: each change applies on the server's
        # settings as they are when it arrives
        before = page.evaluate("state.settings.hidden[0]")
        page.evaluate("""() => { const plus = document.querySelector('.neuron-buttons button');
                                 plus.click(); send('add_point', {x: 0.5, y: 0.5, label: 1});
                                 plus.click(); }""")
        page.wait_for_function(f"state.settings.hidden[0] === {before + 2}")
        page.wait_for_timeout(300)
        assert page.evaluate("state.settings.hidden[0]") == before + 2
        assert page.evaluate("state.settings.dataset") == "custom"   # the point is kept
        browser.close()
    assert not errors, errors


def test_a_weight_can_be_clicked_while_the_network_trains(tmp_path):
    """The lines are updated in place, frame after frame: a click held for 80 ms (a
    person's) lands on the line it started on, and the editor opens."""
    sync_api = pytest.importorskip("playwright.sync_api")
    errors = []
    with running_server() as (address, _), sync_api.sync_playwright() as p:
        browser, page = opened(p, address, errors, "?dataset=circle&hidden=4,4")
        page.click("#run")
        page.wait_for_function("state.frame.epoch > 5")
        first = page.locator("#links path.weight").first
        element = first.element_handle()
        frames = page.evaluate("state.frames")
        for _ in range(3):
            first.click(force=True, delay=80)
            page.wait_for_selector("#weight_editor:not([hidden])")
            page.press("#weight_value", "Escape")
        assert page.evaluate("state.frames") > frames + 3    # frames came in meanwhile
        assert element.evaluate("(e) => e.isConnected")      # the same line, updated
        assert page.locator("#links path.weight").count() == 2 * 4 + 4 * 4 + 4 * 1
        page.click("#run")
        browser.close()
    assert not errors, errors


def test_a_tab_beyond_the_computers_share_says_so_and_offers_no_controls(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    errors = []
    with running_server(max_per_client=1) as (address, _), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        first = browser.new_page(viewport={"width": 1280, "height": 800})
        first.goto(f"http://{address}/")
        first.wait_for_function("state.settings && state.frame")
        refused = browser.new_page(viewport={"width": 1280, "height": 800})
        refused.on("pageerror", lambda e: errors.append(str(e)))
        refused.goto(f"http://{address}/")
        refused.wait_for_selector("#error:not([hidden])")
        assert refused.inner_text("#error").startswith("This computer already has 1 ")
        assert refused.is_disabled("#run") and refused.is_disabled("#learning_rate")
        shot(refused, "refused_tab.png", tmp_path)
        browser.close()
    assert not errors, errors


def test_rough_edges_in_chromium(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    errors, dialogs = [], []
    (tmp_path / "ragged points.csv").write_text("a,b,c\n1,2,3\n1,2\n" + "1,2,3\n" * 10)
    (tmp_path / "animals.csv").write_text(three_class_csv(200))
    with running_server() as (address, _), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        # a bogus address: every error shown, the address bar cleaned
        page.goto(f"http://{address}/?dataset=spiral&noise=loud&colour=red&hidden=4,99"
                  "&learning_rate=-1&activation=relu&discretize=1")
        page.wait_for_function("state.settings && state.settings.dataset === 'spiral'")
        page.wait_for_selector("#error:not([hidden])")
        shown = page.inner_text("#error").splitlines()
        assert shown == ["Some settings in the address were left out:",
                         "noise must be a number; got 'loud'",
                         "unknown setting 'colour' (in the address)",
                         "each hidden layer has 1 to 8 neurons; got 99",
                         "learning_rate must be in (0, 10]; got -1"]
        query = page.evaluate("location.search")
        for gone in ("loud", "colour", "99", "-1"):
            assert gone not in query, (gone, query)
        assert "activation=relu" in query and "dataset=spiral" in query and \
            "discretize=1" in query
        # a bad CSV names the file
        page.click("#your_data summary")
        page.set_input_files("#csv_file", str(tmp_path / "ragged points.csv"))
        page.wait_for_selector("#csv_columns:not([hidden])")
        page.click("#csv_use")
        page.wait_for_function("document.querySelector('#error').textContent.includes("
                               "\"'ragged points.csv', line 3: 2 values for 3 columns\")")
        # a good one: the axes in the columns' units
        page.set_input_files("#csv_file", str(tmp_path / "animals.csv"))
        page.wait_for_function("document.querySelector('#csv_target').value === 'species'")
        page.select_option("#csv_x1", "height")
        page.select_option("#csv_x2", "weight")
        page.click("#csv_use")
        page.wait_for_function("document.querySelectorAll('.class-node').length === 3")
        assert page.inner_text("#x_name") == "height" and page.inner_text("#y_name") == "weight"
        axes = page.evaluate("state.data.axes")
        ticks = [float(t) for t in page.locator("#x_ticks span").all_inner_texts()]
        low, high = axes[0]["low"], axes[0]["high"]
        assert ticks[1] == pytest.approx(low + 0.2 * (high - low), rel=1e-2)   # plane -3
        assert ticks[3] == pytest.approx(low + 0.8 * (high - low), rel=1e-2)   # plane 3
        assert 0 < low < 100 < high < 200   # the column's values (height = 10 a + 100)
        # smooth multiclass maps: the colour does not jump where the likeliest class changes
        jump = page.evaluate("""() => {
            const f = mixedClassPixel([[128, 127], [127, 128], [0, 0]], 3);
            return Math.max(...f(0).map((v, i) => Math.abs(v - f(1)[i])));
        }""")
        assert jump <= 2
        page.select_option("#optimizer", "adam")
        page.evaluate("for (let i = 0; i < 30; i++) send('step')")
        page.wait_for_function("state.frame.epoch === 30", timeout=30_000)
        # discretized, the class borders follow the interpolated probabilities, not the
        # 50 x 50 grid's cells (6 canvas pixels each: a staircase changes colour only at
        # multiples of 6)
        page.uncheck("#show_train")   # the map alone
        page.check("#discretize")
        page.wait_for_timeout(200)
        changes = page.evaluate("""() => {
            const c = document.querySelector('#output_map'), w = c.width;
            const d = c.getContext('2d').getImageData(0, 0, w, c.height).data, xs = [];
            for (let y = 0; y < c.height; y += 3) for (let x = 1; x < w; x++) {
                const i = 4 * (y * w + x);
                if (d[i] !== d[i - 4] || d[i + 1] !== d[i - 3] || d[i + 2] !== d[i - 2]) xs.push(x);
            }
            return xs;
        }""")
        assert len(changes) > 50
        assert sum(x % 6 == 0 for x in changes) < 0.5 * len(changes)
        shot(page, "multiclass_discrete.png", tmp_path)
        page.check("#show_train")
        page.uncheck("#discretize")
        page.wait_for_timeout(200)
        shot(page, "multiclass_csv_axes.png", tmp_path)
        # the weight editor: an inline field, no prompt() box
        weight = page.locator("#links path.weight").first
        weight.click(force=True)
        page.wait_for_selector("#weight_editor:not([hidden])")
        page.fill("#weight_value", "not a number")
        page.press("#weight_value", "Enter")
        assert page.is_visible("#weight_editor")   # refused in the page, nothing sent
        page.fill("#weight_value", "-4.25")
        page.press("#weight_value", "Enter")
        page.wait_for_function("state.frame.weights[0][0][0] === -4.25")
        assert page.is_hidden("#weight_editor")
        weight.click(force=True)
        page.press("#weight_value", "Escape")
        assert page.is_hidden("#weight_editor")
        # the loss chart's axes are labelled: text drawn left of and below the plot area
        inked = page.evaluate("""() => {
            const c = document.querySelector('#loss_chart'), ctx = c.getContext('2d');
            const ink = (x, y, w, h) => [...ctx.getImageData(x, y, w, h).data]
                .filter((v, i) => i % 4 === 3 && v > 0).length;
            return [ink(0, 0, 30, c.height - 24), ink(40, c.height - 20, c.width - 50, 20)];
        }""")
        assert inked[0] > 20 and inked[1] > 20, inked
        browser.close()
    assert not errors, errors
    assert not dialogs, dialogs


def test_the_top_bar_is_one_line_at_1280_px_with_the_widest_choices(tmp_path):
    """Every control of the top bar (Dropout included, and a classroom's name field) on
    one line at 1280 px, even with the longest value of every menu shown."""
    sync_api = pytest.importorskip("playwright.sync_api")
    errors = []
    with running_server(token="class-token", teacher_token="teacher-token",
                        max_per_client=4) as (address, _), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = student_page(browser, address, errors)
        assert page.is_visible("#student_name")   # a classroom: the name field is shown

        def lines():
            return page.evaluate("""() => {
                const boxes = [...document.querySelectorAll('header .controls > *')]
                    .filter((c) => !c.hidden).map((c) => c.getBoundingClientRect());
                const header = document.querySelector('header').getBoundingClientRect();
                return {tops: boxes.map((b) => b.top), bottoms: boxes.map((b) => b.bottom),
                        right: Math.max(...boxes.map((b) => b.right)), width: innerWidth,
                        header: header.height, n: boxes.length};
            }""")

        shown = lines()
        assert shown["n"] >= 13   # 3 buttons, the epoch, 9 menus
        assert max(shown["tops"]) < min(shown["bottoms"]), shown   # one line
        assert page.locator("#dropout").bounding_box()["y"] < 60
        page.evaluate("""() => { for (const s of document.querySelectorAll('header select')) {
            const longest = [...s.options].sort((a, b) => b.text.length - a.text.length)[0];
            s.value = longest.value;   // shown only: nothing is sent
        } }""")
        widest = lines()
        assert max(widest["tops"]) < min(widest["bottoms"]), widest
        assert widest["right"] <= widest["width"] and widest["header"] < 110, widest
        shot(page, "top_bar_widest.png", tmp_path, clip={"x": 0, "y": 0, "width": 1280,
                                                          "height": 120})
        browser.close()
    assert not errors, errors
