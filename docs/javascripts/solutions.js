// Lesson pages: an exercise's worked answer (a Markdown cell starting "Solution." and
// the code cells tagged "solution" after it, executed when the docs are built) is
// folded into one <details> block, so that a reader can try the exercise first.
document.addEventListener("DOMContentLoaded", function () {
  var cells = Array.prototype.slice.call(document.querySelectorAll(".jp-Cell.celltag_solution"));
  var done = [];
  cells.forEach(function (cell) {
    if (done.indexOf(cell) >= 0) { return; }
    var group = [cell];
    var next = cell.nextElementSibling;
    while (next && next.classList.contains("celltag_solution")) {
      group.push(next);
      next = next.nextElementSibling;
    }
    var previous = cell.previousElementSibling;
    if (previous && previous.classList.contains("jp-MarkdownCell") &&
        /^\s*Solution\./.test(previous.textContent)) {
      group.unshift(previous);
    }
    done = done.concat(group);
    var details = document.createElement("details");
    details.className = "solution";
    var summary = document.createElement("summary");
    summary.textContent = "Solution";
    details.appendChild(summary);
    group[0].parentNode.insertBefore(details, group[0]);
    group.forEach(function (member) { details.appendChild(member); });
  });
});
