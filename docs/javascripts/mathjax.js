// MathJax 3 for the whole site: the API pages' math (pymdownx.arithmatex wraps it in
// \( \) and \[ \]) and the lessons' Markdown cells ($...$ and $$...$$ as in Jupyter).
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    skipHtmlTags: ["script", "noscript", "style", "textarea", "pre", "code"]
  }
};
