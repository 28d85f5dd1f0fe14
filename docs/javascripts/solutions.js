// Lesson pages: the cells tagged "solution" (an exercise's worked answer, prose and
// code, executed when the docs are built) are folded into one <details> block per
// exercise, so that a reader can try the exercise before reading the answer.
document.addEventListener("DOMContentLoaded", function () {
  var cells = Array.prototype.slice.call(document.querySelectorAll(".jp-Cell.celltag_solution"));
  var i = 0;
  while (i < cells.length) {
    var group = [cells[i]];
    while (i + group.length < cells.length &&
           group[group.length - 1].nextElementSibling === cells[i + group.length]) {
      group.push(cells[i + group.length]);
    }
    var details = document.createElement("details");
    details.className = "solution";
    var summary = document.createElement("summary");
    summary.textContent = "Solution";
    details.appendChild(summary);
    group[0].parentNode.insertBefore(details, group[0]);
    group.forEach(function (cell) { details.appendChild(cell); });
    i += group.length;
  }
});
