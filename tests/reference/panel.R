# Reference values of the change tests with repeated respondents (docs/statistics.md,
# "Repeated respondents"), computed with R's survey package from the panel waves of
# tests/data/panel (drawn by make_panel_waves.py).
#
#   apt-get install r-base-core r-cran-survey
#   Rscript tests/reference/panel.R > tests/sql/panel_linearized.slt
#
# For a change between waves v and w that share respondents (the same id): the two
# waves stacked, svydesign(ids = ~id, weights = ~w) (a respondent in both waves is one
# cluster), svyby(~s, ~cell, svymean, covmat = TRUE) with cell = wave × group (rows
# without a score: a domain of their own), and svycontrast of (a − b in w) − (a − b in v). Waves that share nobody: each
# wave its own svydesign(ids = ~1, weights = ~w) and the two variances added (the
# independent-samples test). The files are read here with R's own CSV reader; the spec
# rules (missing code 9 or empty, agree 4-5, disagree 1-2 except T1, the theme as the
# mean of its members' scores over the ones answered) are written out here.
suppressPackageStartupMessages(library(survey))
kish <- identical(commandArgs(trailingOnly = TRUE), "kish")

dir <- "tests/data/panel"
waves <- list(p2021 = TRUE, p2022 = FALSE, p2023 = TRUE, p2024 = TRUE)
cols <- c(A1 = "aligned_goals", A2 = "shared_data", T1 = "tools_fit")
groups <- c(Marketing = "marketing", Sales = "sales", Service = "service")

# Per wave: id, grp, w and one column per (unit, metric) score.
read_wave <- function(id, weighted) {
  d <- read.csv(file.path(dir, paste0(id, ".csv")), colClasses = "character")
  out <- data.frame(id = d$id, grp = unname(groups[d$team]), stringsAsFactors = FALSE)
  out$w <- if (weighted) as.numeric(d$wt) else 1
  top <- list(); bottom <- list(); code <- list()
  for (c in names(cols)) {
    v <- suppressWarnings(as.numeric(d[[c]]))
    ok <- !is.na(v) & v != 9
    code[[c]] <- ifelse(ok, v, NA)
    top[[c]] <- ifelse(ok, as.numeric(v %in% c(4, 5)), NA)
    s <- cols[[c]]
    out[[paste(s, "top_box")]] <- top[[c]]
    out[[paste(s, "mean")]] <- code[[c]]
    if (c != "T1") {
      bottom[[c]] <- ifelse(ok, as.numeric(v %in% c(1, 2)), NA)
      out[[paste(s, "bottom_box")]] <- bottom[[c]]
      out[[paste(s, "net")]] <- top[[c]] - bottom[[c]]
    }
  }
  members <- c("A1", "A2")
  k <- rowSums(sapply(members, function(c) !is.na(code[[c]])))
  share <- function(x) ifelse(k > 0, rowSums(sapply(members, function(c) x[[c]]), na.rm = TRUE) / k, NA)
  out[["alignment top_box"]] <- share(top)
  out[["alignment bottom_box"]] <- share(bottom)
  out[["alignment net"]] <- share(top) - share(bottom)
  out[["alignment mean"]] <- share(code)
  out
}
data <- lapply(names(waves), function(w) read_wave(w, waves[[w]]))
names(data) <- names(waves)
units <- setdiff(names(data$p2021), c("id", "grp", "w"))
pairs <- list(c("marketing", "sales"), c("marketing", "service"), c("sales", "service"))

# The domain of a row: wave × group where it has a score; the rows without one form a
# domain of their own, so that every respondent stays in the design (svyby's covmat
# does not take na.rm here) and the clusters are all respondents of the two waves.
cells <- function(wave, grp, s) ifelse(is.na(s), "none", paste(wave, grp, sep = ":"))

# The change of every gap of `unit` between waves `v` (earlier) and `w`.
changes <- function(unit, w, v) {
  dw <- data[[w]]; dv <- data[[v]]
  shared <- intersect(dw$id, dv$id)
  one <- function(x, wave) {
    x$s <- x[[unit]]
    x$cell <- cells(wave, x$grp, x$s)
    x$s[is.na(x$s)] <- 0
    svyby(~s, ~cell, svydesign(ids = ~1, weights = ~w, data = x), svymean, covmat = TRUE)
  }
  # Kish: the variance of a cell's mean is the weighted variance of the score over its
  # respondents with one, divided by (Σw)²/Σw².
  kish_var <- function(x, g) {
    y <- x[[unit]]; keep <- !is.na(y) & x$grp == g
    y <- y[keep]; w <- x$w[keep]
    m <- sum(w * y) / sum(w)
    (sum(w * (y - m)^2) / sum(w)) / (sum(w)^2 / sum(w^2))
  }
  ew <- one(dw, w); ev <- one(dv, v)
  gap <- function(e, wave, a, b) svycontrast(e, setNames(c(1, -1), paste(wave, c(a, b), sep = ":")))
  gap_var <- function(a, b) {
    gw <- gap(ew, w, a, b); gv <- gap(ev, v, a, b)
    change <- coef(gw)[[1]] - coef(gv)[[1]]
    var_w <- if (kish) kish_var(dw, a) + kish_var(dw, b) else SE(gw)[[1]]^2
    var_v <- if (kish) kish_var(dv, a) + kish_var(dv, b) else SE(gv)[[1]]^2
    if (length(shared) == 0) return(c(change, var_w + var_v))
    # The waves stacked, a respondent in both one cluster.
    d <- rbind(cbind(dw[, c("id", "grp", "w")], wave = w, s = dw[[unit]]),
               cbind(dv[, c("id", "grp", "w")], wave = v, s = dv[[unit]]))
    d$cell <- cells(d$wave, d$grp, d$s)
    d$s[is.na(d$s)] <- 0
    est <- svyby(~s, ~cell, svydesign(ids = ~id, weights = ~w, data = d), svymean, covmat = TRUE)
    k <- function(wave) setNames(c(1, -1), paste(wave, c(a, b), sep = ":"))
    r <- svycontrast(est, list(here = k(w), there = k(v)))
    V <- vcov(r)
    if (kish) c(change, var_w + var_v - 2 * V[1, 2])
    else c(change, V[1, 1] + V[2, 2] - 2 * V[1, 2])
  }
  out <- NULL
  for (p in pairs) {
    r <- gap_var(p[1], p[2])
    both <- merge(dw[!is.na(dw[[unit]]) & dw$grp %in% p, c("id", "grp")],
                  dv[!is.na(dv[[unit]]) & dv$grp %in% p, c("id", "grp")], by = "id")
    out <- rbind(out, data.frame(group_a = p[1], group_b = p[2], wave = w, prev_wave = v,
                                 change = r[1], var = r[2], overlap = nrow(both),
                                 stringsAsFactors = FALSE))
  }
  out
}

num <- function(x) format(x, digits = 17)
header <- function(title) {
  cat("\n# ", title, "\n", sep = "")
}
cat("# Generated by tests/reference/panel.R with R", paste(R.version$major, R.version$minor, sep = "."),
    "and survey", paste0(as.character(packageVersion("survey")), "\n"))
cat("# from the panel waves: svycontrast on svyby(~s, ~wave:group, svydesign(ids = ~id,\n")
cat("# weights = ~w) of the two waves stacked), covmat = TRUE; waves without shared\n")
cat("# respondents: the two waves' own designs, variances added. Do not edit by hand.\n")
if (kish) {
  cat("# Kish variance (the default): each wave's gap variance from its Kish n_eff, less\n")
  cat("# twice the covariance of the two gaps from that stacked design.\n")
} else {
  cat("# The session runs with variance = linearized (the file name says so).\n")
}
cat("# only waves: tests/data/panel\n")

split_unit <- function(u) strsplit(u, " ")[[1]]
statements <- c("aligned_goals", "shared_data", "tools_fit")

header("gap_trend: each wave against the one before")
cat("query TTTTTRRRI\n")
cat("SELECT statement, group_a, group_b, wave, prev_wave, change_pp, se, p_value, overlap\n")
cat("FROM gap_trend ORDER BY statement, group_a, group_b, wave\n----\n")
for (s in statements) {
  rows <- NULL
  for (k in 2:4) rows <- rbind(rows, changes(paste(s, "top_box"), names(waves)[k], names(waves)[k - 1]))
  rows <- rows[order(rows$group_a, rows$group_b, rows$wave, method = "radix"), ]
  for (i in seq_len(nrow(rows))) {
    r <- rows[i, ]
    cat(s, r$group_a, r$group_b, r$wave, r$prev_wave, num(100 * r$change), num(100 * sqrt(r$var)),
        num(2 * pnorm(-abs(r$change) / sqrt(r$var))), r$overlap, "\n", sep = c(rep(" ", 8), ""))
  }
}

header("gap_vs_baseline: each wave against the first")
cat("query TTTTTRRRI\n")
cat("SELECT statement, group_a, group_b, wave, baseline_wave, change_pp, se, p_value, overlap\n")
cat("FROM gap_vs_baseline ORDER BY statement, group_a, group_b, wave\n----\n")
for (s in statements) {
  rows <- NULL
  for (k in 2:4) rows <- rbind(rows, changes(paste(s, "top_box"), names(waves)[k], "p2021"))
  rows <- rows[order(rows$group_a, rows$group_b, rows$wave, method = "radix"), ]
  for (i in seq_len(nrow(rows))) {
    r <- rows[i, ]
    cat(s, r$group_a, r$group_b, r$wave, r$prev_wave, num(100 * r$change), num(100 * sqrt(r$var)),
        num(2 * pnorm(-abs(r$change) / sqrt(r$var))), r$overlap, "\n", sep = c(rep(" ", 8), ""))
  }
}

header("score_trend: every metric of the statements and the theme")
cat("query TTTTTTRRI\n")
cat("SELECT statement, metric, group_a, group_b, wave, prev_wave, change_pp, se, overlap\n")
cat("FROM score_trend ORDER BY statement, metric, group_a, group_b, wave\n----\n")
rows <- NULL
for (u in units) {
  for (k in 2:4) {
    r <- changes(u, names(waves)[k], names(waves)[k - 1])
    r$statement <- split_unit(u)[1]
    r$metric <- split_unit(u)[2]
    rows <- rbind(rows, r)
  }
}
rows <- rows[order(rows$statement, rows$metric, rows$group_a, rows$group_b, rows$wave, method = "radix"), ]
for (i in seq_len(nrow(rows))) {
  r <- rows[i, ]
  unit <- if (r$metric == "mean") 1 else 100
  cat(r$statement, r$metric, r$group_a, r$group_b, r$wave, r$prev_wave, num(unit * r$change),
      num(unit * sqrt(r$var)), r$overlap, "\n", sep = c(rep(" ", 8), ""))
}
