//! A parsed route checked as a graph: unique ids, exactly one `start`, each element's
//! outputs named as its type allows and leading to an element that exists, no cycles.

use super::{Element, ElementKind, Route, RouteError, MAX_PERCENTAGE_OUTPUTS};
use std::collections::HashMap;

const START: &[&str] = &["next"];
const CONDITIONAL: &[&str] = &["true", "false"];
const LIMITED: &[&str] = &["success", "fallback"];

/// Every check a route must pass before it is served.
pub(super) fn check(route: &Route) -> Result<(), RouteError> {
    let mut index = HashMap::with_capacity(route.elements.len());
    for (i, element) in route.elements.iter().enumerate() {
        if index.insert(element.id.as_str(), i).is_some() {
            let message = format!("element id `{}` is used twice", element.id);
            return Err(RouteError::new(None, format!("elements[{i}].id"), message));
        }
    }
    let starts: Vec<&Element> = route
        .elements
        .iter()
        .filter(|e| matches!(e.kind, ElementKind::Start))
        .collect();
    if starts.len() != 1 {
        let message = format!(
            "a route needs exactly one `start` element, found {}",
            starts.len()
        );
        return Err(RouteError::new(None, "elements", message));
    }
    for element in &route.elements {
        check_outputs(element)?;
        for (name, to) in &element.outputs {
            if !index.contains_key(to.as_str()) {
                let message = format!("leads to `{to}`, which is no element of this route");
                return Err(RouteError::new(
                    Some(&element.id),
                    format!("outputs.{name}.elementId"),
                    message,
                ));
            }
        }
    }
    check_acyclic(route, &index)
}

fn check_outputs(element: &Element) -> Result<(), RouteError> {
    let id = Some(element.id.as_str());
    let (allowed, required): (&'static [&'static str], &[&str]) = match &element.kind {
        ElementKind::Start => (START, START),
        ElementKind::Conditional(_) => (CONDITIONAL, CONDITIONAL),
        ElementKind::Rate(_) | ElementKind::Model(_) => (LIMITED, &["success"]),
        ElementKind::End => (&[], &[]),
        ElementKind::Percentage(p) => {
            if p.shares.len() > MAX_PERCENTAGE_OUTPUTS {
                let message = format!(
                    "at most {MAX_PERCENTAGE_OUTPUTS} percentage outputs (plus `else`), found {}",
                    p.shares.len()
                );
                return Err(RouteError::new(id, "outputs", message));
            }
            let total: f64 = p.shares.iter().map(|(_, share)| share).sum();
            let has_else = element.output("else").is_some();
            if has_else && total > 100.0 + 1e-9 {
                let message = format!("the percentages add up to {total}, over 100");
                return Err(RouteError::new(id, "outputs", message));
            }
            if !has_else && (total - 100.0).abs() > 1e-9 {
                let message = format!(
                    "the percentages add up to {total}; without an `else` output they must add up to 100"
                );
                return Err(RouteError::new(id, "outputs", message));
            }
            return Ok(());
        }
    };
    for (name, _) in &element.outputs {
        if !allowed.contains(&name.as_str()) {
            let at = format!("outputs.{name}");
            let mut e = RouteError::unknown(id, at, "output", name, allowed);
            if allowed.is_empty() {
                e.message.push_str(" (an `end` element has no outputs)");
            } else {
                let what = format!(
                    " (a `{}` element has {})",
                    element.kind.type_name(),
                    allowed.join(" and ")
                );
                e.message.push_str(&what);
            }
            return Err(e);
        }
    }
    if let Some(missing) = required.iter().find(|name| element.output(name).is_none()) {
        return Err(RouteError::new(
            id,
            format!("outputs.{missing}"),
            "is missing",
        ));
    }
    Ok(())
}

/// Depth-first over the outputs: reaching an element still on the path is a cycle.
fn check_acyclic(route: &Route, index: &HashMap<&str, usize>) -> Result<(), RouteError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks = vec![Mark::New; route.elements.len()];
    for root in 0..route.elements.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // (element, next output to follow)
        let mut stack = vec![(root, 0usize)];
        marks[root] = Mark::OnPath;
        while let Some((at, next)) = stack.last_mut() {
            let element = &route.elements[*at];
            let Some((name, to)) = element.outputs.get(*next) else {
                marks[*at] = Mark::Done;
                stack.pop();
                continue;
            };
            *next += 1;
            let Some(&target) = index.get(to.as_str()) else {
                continue;
            };
            match marks[target] {
                Mark::Done => {}
                Mark::New => {
                    marks[target] = Mark::OnPath;
                    stack.push((target, 0));
                }
                Mark::OnPath => {
                    let start = stack.iter().position(|(i, _)| *i == target).unwrap_or(0);
                    let mut path: Vec<&str> = stack[start..]
                        .iter()
                        .map(|(i, _)| route.elements[*i].id.as_str())
                        .collect();
                    path.push(to);
                    let message = format!("leads back into a cycle: {}", path.join(" -> "));
                    return Err(RouteError::new(
                        Some(&element.id),
                        format!("outputs.{name}.elementId"),
                        message,
                    ));
                }
            }
        }
    }
    Ok(())
}
