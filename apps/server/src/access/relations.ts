import { NO_RELATION, type Relation } from '../presenters/user.presenter.ts'
import { ContactRepository } from '../store/contact.repository.ts'
import type { Executor } from '../store/db.ts'

/**
 * How `viewerId` stands to each of `targetIds` (contacts and blocks, both ways), in one query whatever
 * the number of targets. Every target id has an entry; strangers get NO_RELATION.
 */
export async function relationsFor(
  db: Executor,
  viewerId: number,
  targetIds: readonly number[],
): Promise<Map<number, Relation>> {
  const relations = new Map<number, Relation>(targetIds.map((id) => [id, { ...NO_RELATION }]))
  const edges = await new ContactRepository(db).relationEdges(viewerId, targetIds)
  for (const edge of edges) {
    const relation = relations.get(Number(edge.other_id))
    if (!relation) continue
    if (edge.kind === 'viewer_has') relation.viewerHasTarget = true
    else if (edge.kind === 'target_has') relation.targetHasViewer = true
    else if (edge.kind === 'viewer_blocked') relation.viewerBlockedTarget = true
    else relation.targetBlockedViewer = true
  }
  return relations
}

/** How `viewerId` stands to one user. */
export async function relationTo(db: Executor, viewerId: number, targetId: number): Promise<Relation> {
  return (await relationsFor(db, viewerId, [targetId])).get(targetId) ?? { ...NO_RELATION }
}
