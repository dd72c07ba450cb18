/** Query limits, as GraphQL validation rules, so an expensive document is refused before any
 * resolver runs: nesting depth, aliases (the classic way to multiply one costly field), and a
 * complexity estimate where list fields multiply their children by the page they ask for. */
import {
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  isListType as isListTypeOf,
  isNonNullType,
  isObjectType,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxComplexity: number;
}

/** Page size a list field is assumed to return when its arguments do not say. */
const DEFAULT_LIST_SIZE = 10;
/** Fields that run a model or write: far dearer than reading a field. */
const MUTATION_COST: Record<string, number> = { predict: 10, predictBatch: 50, feedback: 5 };

interface Walk {
  depth: number;
  aliases: number;
  complexity: number;
}

function hasPageSize(field: FieldNode): boolean {
  return (field.arguments ?? []).some((a) => a.name.value === 'limit' || a.name.value === 'first');
}

function listSize(field: FieldNode): number {
  for (const arg of field.arguments ?? []) {
    if ((arg.name.value === 'limit' || arg.name.value === 'first') && arg.value.kind === Kind.INT) {
      return Math.max(1, Number(arg.value.value));
    }
  }
  return DEFAULT_LIST_SIZE;
}

interface Scope {
  fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  schema: GraphQLSchema;
}

/** A field's type on its parent, or undefined when the document names a field the schema lacks
 * (graphql's own rules report that). */
function fieldType(parent: GraphQLNamedType | undefined, name: string): GraphQLOutputType | undefined {
  if (!parent || !isObjectType(parent)) return undefined;
  return parent.getFields()[name]?.type;
}

function isListType(type: GraphQLOutputType | undefined): boolean {
  const t = type && isNonNullType(type) ? type.ofType : type;
  return t !== undefined && isListTypeOf(t);
}

function walk(
  set: SelectionSetNode,
  scope: Scope,
  parent: GraphQLNamedType | undefined,
  depth: number,
  seen: ReadonlySet<string>,
): Walk {
  const { fragments } = scope;
  const out: Walk = { depth, aliases: 0, complexity: 0 };
  for (const sel of set.selections) {
    let inner: Walk | undefined;
    if (sel.kind === Kind.FIELD) {
      if (sel.alias) out.aliases++;
      const own = depth === 0 ? (MUTATION_COST[sel.name.value] ?? 1) : 1;
      const type = fieldType(parent, sel.name.value);
      if (sel.selectionSet) {
        inner = walk(sel.selectionSet, scope, type ? getNamedType(type) : undefined, depth + 1, seen);
        // A list, or a page (a field taking limit/first): its children are paid once per row.
        const factor = isListType(type) || hasPageSize(sel) ? listSize(sel) : 1;
        out.complexity += own + factor * inner.complexity;
        out.aliases += inner.aliases;
        out.depth = Math.max(out.depth, inner.depth);
      } else {
        out.complexity += own;
        out.depth = Math.max(out.depth, depth + 1);
      }
      continue;
    }
    if (sel.kind === Kind.INLINE_FRAGMENT) {
      const on = sel.typeCondition ? scope.schema.getType(sel.typeCondition.name.value) : parent;
      inner = walk(sel.selectionSet, scope, on, depth, seen);
    } else {
      const name = sel.name.value;
      const fragment = fragments.get(name);
      if (!fragment || seen.has(name)) continue; // unknown or cyclic: graphql's own rules report it
      const on = scope.schema.getType(fragment.typeCondition.name.value);
      inner = walk(fragment.selectionSet, scope, on, depth, new Set([...seen, name]));
    }
    out.complexity += inner.complexity;
    out.aliases += inner.aliases;
    out.depth = Math.max(out.depth, inner.depth);
  }
  return out;
}

/** One rule checking all three limits per operation, each with its own message. */
export function queryLimitsRule(limits: QueryLimits): ValidationRule {
  return function QueryLimits(context: ValidationContext): ASTVisitor {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of context.getDocument().definitions) {
      if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    }
    const schema = context.getSchema();
    const scope = { fragments, schema };
    return {
      OperationDefinition(node) {
        const name = node.name ? `operation "${node.name.value}"` : 'the operation';
        const root =
          node.operation === 'mutation'
            ? schema.getMutationType()
            : node.operation === 'subscription'
              ? schema.getSubscriptionType()
              : schema.getQueryType();
        const result = walk(node.selectionSet, scope, root ?? undefined, 0, new Set());
        if (result.depth > limits.maxDepth) {
          context.reportError(
            new GraphQLError(
              `${name} nests ${result.depth} levels deep; the limit is ${limits.maxDepth} (GRAPHQL_MAX_DEPTH)`,
              {
                nodes: [node],
                extensions: { code: 'query_too_deep', limit: limits.maxDepth, found: result.depth },
              },
            ),
          );
        }
        if (result.aliases > limits.maxAliases) {
          context.reportError(
            new GraphQLError(
              `${name} uses ${result.aliases} aliases; the limit is ${limits.maxAliases} (GRAPHQL_MAX_ALIASES)`,
              {
                nodes: [node],
                extensions: { code: 'too_many_aliases', limit: limits.maxAliases, found: result.aliases },
              },
            ),
          );
        }
        if (result.complexity > limits.maxComplexity) {
          context.reportError(
            new GraphQLError(
              `${name} has an estimated complexity of ${result.complexity}; the limit is ${limits.maxComplexity} ` +
                '(GRAPHQL_MAX_COMPLEXITY): ask for fewer fields or smaller pages (limit)',
              {
                nodes: [node],
                extensions: {
                  code: 'query_too_complex',
                  limit: limits.maxComplexity,
                  found: result.complexity,
                },
              },
            ),
          );
        }
      },
    };
  };
}
